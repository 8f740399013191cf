"""Mixed centres: some territories keep a given centre, the others get one chosen by the solver.

Checked against brute force on tiny instances; balance, locks, caps, contiguity, centres and metrics are
recomputed from the returned assignment.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from territory_checks import brute_optimum, connected, dist, loads, max_dev

import optimizer.territories.solver as solver_mod
from optimizer.errors import InputError
from optimizer.model.territories import TerritoriesProblem, TerritoriesSolution
from optimizer.solve import solve
from optimizer.territories import solve_territories
from optimizer.territories.bound import lagrangian_bound
from optimizer.territories.dwbound import dw_bound
from optimizer.territories.instance import build_instance

HOMES = [(20.0, 20.0), (80.0, 30.0), (50.0, 85.0)]


def _units(n: int, seed: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 100, size=(n, 2))
    w = rng.uniform(1, 10, size=n)
    return [{"id": f"u{i}", "location": {"x": float(xy[i, 0]), "y": float(xy[i, 1])}, "workload": float(w[i])}
            for i in range(n)]


def _mixed(n: int, seed: int, tau: float, n_fixed: int, k: int = 3, **kw: Any) -> TerritoriesProblem:
    terr: list[dict[str, Any]] = []
    for t in range(k):
        d: dict[str, Any] = {"id": "ABCDEFGH"[t]}
        if t < n_fixed:
            d["center"] = {"x": HOMES[t % 3][0] + 7 * (t // 3), "y": HOMES[t % 3][1]}
        terr.append(d)
    units = kw.pop("units", None) or _units(n, seed)
    return TerritoriesProblem.model_validate({"units": units, "territories": terr, "balance": {"workload": tau},
                                              "travel": {"metric": "euclidean"}, **kw})


def mixed_cost(p: TerritoriesProblem, assign: dict[str, str]) -> float:
    """Workload x distance to the given centre, or to the weighted medoid for a territory without one."""
    assert p.territories is not None
    given = {t.id: t.center.coords() for t in p.territories if t.center is not None}
    tot = 0.0
    for t in p.territory_ids:
        members = [u for u in p.units if assign[u.id] == t]
        if not members:
            continue
        if t in given:
            tot += sum(u.workload * dist(u.location.coords(), given[t]) for u in members)
        else:
            tot += min(sum(v.workload * dist(v.location.coords(), c.location.coords()) for v in members)
                       for c in members)
    return tot


def brute(p: TerritoriesProblem, tau: float) -> float:
    """Optimum over every assignment (balance, locks, moved cap)."""
    return brute_optimum(p, tau, mixed_cost)


def check_solution(p: TerritoriesProblem, s: TerritoriesSolution, tau: float) -> None:
    """Everything recomputed from the assignment: balance, fixed centres kept, free centres at medoids, metrics."""
    assert p.territories is not None
    assert set(s.assignment) == {u.id for u in p.units}
    assert max_dev(p, s.assignment) <= tau + 1e-9
    assert s.metrics.workload_max_dev == pytest.approx(max_dev(p, s.assignment), abs=1e-9)
    assert s.objective == pytest.approx(mixed_cost(p, s.assignment), rel=1e-9)
    assert s.metrics.dispersion == pytest.approx(mixed_cost(p, s.assignment), rel=1e-9)
    ld = loads(p, s.assignment)
    by_id = {t.id: t for t in s.territories}
    for t in p.territories:
        summ = by_id[t.id]
        assert summ.workload == pytest.approx(ld[t.id])
        assert summ.center is not None
        if t.center is not None:  # a given centre never moves
            assert summ.center_fixed
            assert summ.center.coords() == t.center.coords()
        else:  # a chosen centre is one of the territory's units, at its weighted medoid
            assert not summ.center_fixed
            members = [u for u in p.units if s.assignment[u.id] == t.id]
            assert any(u.location.coords() == summ.center.coords() for u in members)
            own = sum(u.workload * dist(u.location.coords(), summ.center.coords()) for u in members)
            best = min(sum(v.workload * dist(v.location.coords(), c.location.coords()) for v in members)
                       for c in members)
            assert own == pytest.approx(best, rel=1e-9)
    if s.lower_bound is not None and s.objective is not None:
        assert s.lower_bound <= s.objective + 1e-6


@pytest.mark.parametrize(("seed", "n_fixed"), [(1, 1), (2, 2), (3, 1), (4, 2)])
def test_exact_equals_brute_force(seed: int, n_fixed: int) -> None:
    p = _mixed(9, seed, 0.3, n_fixed)
    s = solve_territories(p, time_limit=5)
    assert s.status == "optimal"
    check_solution(p, s, 0.3)
    assert s.objective == pytest.approx(brute(p, 0.3), rel=1e-7)
    assert sum(t.center_fixed for t in s.territories) == n_fixed


@pytest.mark.parametrize(("seed", "n_fixed"), [(5, 1), (6, 2), (7, 1)])
def test_search_path_matches_brute_force_and_bound_is_valid(monkeypatch: pytest.MonkeyPatch, seed: int,
                                                            n_fixed: int) -> None:
    """The heuristic search (exact model switched off) finds the optimum; its Lagrangian bound stays below it."""
    monkeypatch.setattr(solver_mod, "EXACT_PMEDIAN_MAX_UNITS", 0)
    p = _mixed(9, seed, 0.3, n_fixed)
    s = solve_territories(p, time_limit=3)
    opt = brute(p, 0.3)
    check_solution(p, s, 0.3)
    assert s.status == "feasible"
    assert s.objective == pytest.approx(opt, rel=1e-7)
    assert s.lower_bound is not None and s.lower_bound <= opt + 1e-6
    assert "always-open" in str(s.stats["bound_kind"])


@pytest.mark.parametrize(("seed", "n_fixed"), [(1, 1), (2, 2), (8, 1), (9, 2)])
def test_lagrangian_bound_below_brute_force(seed: int, n_fixed: int) -> None:
    p = _mixed(9, seed, 0.2, n_fixed)
    opt = brute(p, 0.2)
    lb = lagrangian_bound(build_instance(p), time_limit=2.0, max_iter=300)
    assert lb is not None
    assert lb.value <= opt + 1e-6
    assert lb.value > 0.5 * opt  # not a trivial bound


@pytest.mark.parametrize(("seed", "n_fixed"), [(1, 1), (2, 2), (9, 2)])
def test_dw_bound_between_compact_bound_and_brute_force(seed: int, n_fixed: int) -> None:
    p = _mixed(9, seed, 0.2, n_fixed)
    opt = brute(p, 0.2)
    inst = build_instance(p)
    dw = dw_bound(inst, time_limit=3.0, warm_time=1.0, max_iter=200)
    assert dw is not None
    assert dw.compact_value - 1e-6 <= dw.value <= opt + 1e-6
    assert dw_bound(inst, method="colgen", time_limit=1.0) is None  # no master rows for given centres


def test_locks_and_moved_cap_against_brute_force() -> None:
    units = _units(9, 11)
    cur = ["A", "A", "B", "B", "C", "C", "A", "B", "C"]
    for i, u in enumerate(units):
        u["current"] = cur[i]
    units[0]["locked"] = True
    units[5]["locked"] = True
    p = _mixed(9, 11, 0.3, 1, units=units, max_moved=3)
    s = solve_territories(p, time_limit=3)
    check_solution(p, s, 0.3)
    assert s.assignment["u0"] == "A" and s.assignment["u5"] == "C"
    moved = sum(s.assignment[u.id] != u.current for u in p.units)
    assert moved <= 3 and s.metrics.moved == moved
    assert s.objective == pytest.approx(brute(p, 0.3), rel=1e-7)


def _grid(side: int, seed: int) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    rng = np.random.default_rng(seed)
    units = [{"id": f"g{r}_{c}", "location": {"x": 10.0 * c, "y": 10.0 * r}, "workload": float(rng.uniform(1, 3))}
             for r in range(side) for c in range(side)]
    adj = [(f"g{r}_{c}", f"g{r}_{c + 1}") for r in range(side) for c in range(side - 1)]
    adj += [(f"g{r}_{c}", f"g{r + 1}_{c}") for r in range(side - 1) for c in range(side)]
    return units, adj


def test_contiguity_with_mixed_centres() -> None:
    units, adj = _grid(10, 3)
    terr = [{"id": "A", "center": {"x": 5.0, "y": 5.0}}, {"id": "B", "center": {"x": 85.0, "y": 85.0}},
            {"id": "C"}, {"id": "D"}]
    p = TerritoriesProblem.model_validate({"units": units, "territories": terr, "balance": {"workload": 0.1},
                                           "travel": {"metric": "euclidean"}, "contiguity": True,
                                           "adjacency": adj})
    s = solve_territories(p, time_limit=3)
    check_solution(p, s, 0.1)
    assert connected(p, s.assignment)
    assert s.metrics.disconnected == 0 and not s.violations


def _medium(seed: int, **kw: Any) -> TerritoriesProblem:
    terr = [{"id": "A", "center": {"x": 15.0, "y": 15.0}}, {"id": "B", "center": {"x": 85.0, "y": 50.0}},
            {"id": "C"}, {"id": "D"}, {"id": "E"}, {"id": "F"}]
    return TerritoriesProblem.model_validate({"units": kw.pop("units", None) or _units(240, seed), "territories": terr,
                                              "balance": {"workload": 0.05}, "travel": {"metric": "euclidean"}, **kw})


def test_medium_instance_same_seed_same_answer() -> None:
    p = _medium(21)
    s1 = solve_territories(p, time_limit=3, seed=7)
    s2 = solve_territories(p, time_limit=3, seed=7)
    check_solution(p, s1, 0.05)
    assert s1.assignment == s2.assignment
    assert s1.objective == s2.objective
    assert s1.stats["fixed_centres"] == 2
    assert s1.lower_bound is not None and s1.lower_bound <= s1.objective  # type: ignore[operator]


def test_medium_instance_with_current_locks_and_cap() -> None:
    units = _units(240, 22)
    rng = np.random.default_rng(0)
    for u in units:
        u["current"] = "ABCDEF"[int(rng.integers(6))] if u["location"]["x"] < 50 else "ABCDEF"[int(rng.integers(3, 6))]
    for u in units[:10]:
        u["locked"] = True
    p = _medium(22, units=units, max_moved=150)
    s = solve_territories(p, time_limit=3, seed=1)
    check_solution(p, s, 0.05)
    assert all(s.assignment[u.id] == u.current for u in p.units if u.locked)
    moved = sum(s.assignment[u.id] != u.current for u in p.units)
    assert moved == s.metrics.moved <= 150


def test_all_fixed_and_all_free_report_where_centres_came_from() -> None:
    free = TerritoriesProblem.model_validate({"units": _units(30, 1), "count": 3, "balance": {"workload": 0.2},
                                              "travel": {"metric": "euclidean"}})
    s = solve_territories(free, time_limit=2)
    assert not any(t.center_fixed for t in s.territories)
    fixed = _mixed(30, 1, 0.2, 3)
    s = solve_territories(fixed, time_limit=2)
    assert all(t.center_fixed for t in s.territories)
    assert "fixed_centres" not in s.stats


def test_validation_accepts_a_mix_and_names_every_bad_centre() -> None:
    _mixed(9, 1, 0.3, 1)  # a mix is valid
    data: dict[str, Any] = {"units": _units(9, 1), "travel": {"metric": "euclidean"},
                            "territories": [{"id": "A", "center": {"lat": 55.7, "lon": 37.6}}, {"id": "B"},
                                            {"id": "C", "center": {"lat": 55.8, "lon": 37.5}}, {"id": "B"}]}
    with pytest.raises(InputError) as exc:
        TerritoriesProblem.model_validate(data)
    paths = {e.path: e.message for e in exc.value.errors}
    assert paths["territories[0].center"] == "travel metric euclidean needs x/y"
    assert paths["territories[2].center"] == "travel metric euclidean needs x/y"
    assert "territories[1].center" not in paths
    assert paths["territories[3].id"] == "duplicate territory id 'B'"
    assert "territories" not in paths  # the old "all or none" rule is gone


def test_json_path_solves_a_mixed_problem() -> None:
    data = _mixed(12, 5, 0.3, 1).model_dump(mode="json", exclude_none=True)
    sol = solve("territories", data, time_limit=3, seed=0)
    assert isinstance(sol, TerritoriesSolution)
    p = TerritoriesProblem.model_validate(data)
    check_solution(p, sol, 0.3)
    out = sol.model_dump(mode="json")
    assert [t["center_fixed"] for t in out["territories"]] == [True, False, False]


def test_pareto_front_with_mixed_centres() -> None:
    """Front against the returned centres (given homes kept): recomputed, balanced, non-dominated."""
    units = _units(16, 31)
    for i, u in enumerate(units):
        u["current"] = "ABC"[i % 3]
    p = _mixed(16, 31, 0.25, 1, units=units, pareto=True)
    s = solve_territories(p, time_limit=4)
    check_solution(p, s, 0.25)
    assert len(s.pareto) >= 2
    centre = {t.id: t.center.coords() for t in s.territories if t.center is not None}
    assert centre["A"] == (20.0, 20.0)
    for pt in s.pareto:
        assert pt.assignment is not None
        assert max_dev(p, pt.assignment) <= 0.25 + 1e-9
        disp = sum(u.workload * dist(u.location.coords(), centre[pt.assignment[u.id]]) for u in p.units)
        assert pt.dispersion == pytest.approx(disp, rel=1e-9)
        assert pt.moved == sum(pt.assignment[u.id] != u.current for u in p.units)
    for a, b in itertools.pairwise(s.pareto):
        assert a.moved < b.moved and a.dispersion > b.dispersion


def test_cli_validates_and_solves_a_mixed_problem(tmp_path: Any) -> None:
    import json

    from typer.testing import CliRunner

    from optimizer.cli import app

    prob = tmp_path / "mixed.json"
    prob.write_text(json.dumps(_mixed(12, 6, 0.3, 2).model_dump(mode="json", exclude_none=True)))
    runner = CliRunner()
    assert runner.invoke(app, ["validate", "territories", str(prob)]).exit_code == 0
    out = tmp_path / "sol.json"
    res = runner.invoke(app, ["solve", "territories", str(prob), "-o", str(out), "--time-limit", "3", "-q"])
    assert res.exit_code == 0, res.output
    sol = json.loads(out.read_text())
    assert [t["center_fixed"] for t in sol["territories"]] == [True, True, False]
    assert sol["territories"][0]["center"]["x"] == HOMES[0][0] and sol["territories"][1]["center"]["y"] == HOMES[1][1]
    bad = json.loads(prob.read_text())
    bad["territories"][2]["center"] = {"lat": 50.0, "lon": 8.0}
    prob.write_text(json.dumps(bad))
    res = runner.invoke(app, ["validate", "territories", str(prob)])
    assert res.exit_code == 2 and "territories[2].center" in res.output


def test_haversine_mixed_centres(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lat/lon units: the given home stays, the chosen centres are units, both paths reach the brute-force optimum."""
    from optimizer.travel import haversine_km

    rng = np.random.default_rng(12)
    units = [{"id": f"u{i}", "workload": float(rng.uniform(1, 5)),
              "location": {"lat": float(52 + rng.uniform(0, 0.5)), "lon": float(13 + rng.uniform(0, 0.8))}}
             for i in range(9)]
    p = TerritoriesProblem.model_validate({"units": units, "territories": [
        {"id": "A", "center": {"lat": 52.05, "lon": 13.1}}, {"id": "B"}, {"id": "C"}], "balance": {"workload": 0.3}})

    def km(a: tuple[float, float], b: tuple[float, float]) -> float:
        return float(haversine_km(np.array([a[0]]), np.array([a[1]]), np.array([b[0]]), np.array([b[1]]))[0])

    def cost(assign: dict[str, str]) -> float:
        tot = 0.0
        for t in p.territory_ids:
            members = [u for u in p.units if assign[u.id] == t]
            if not members:
                continue
            cands = [(52.05, 13.1)] if t == "A" else [c.location.coords() for c in members]
            tot += min(sum(u.workload * km(u.location.coords(), c) for u in members) for c in cands)
        return tot

    best = min(cost(dict(zip([u.id for u in p.units], combo, strict=True)))
               for combo in itertools.product("ABC", repeat=9)
               if max_dev(p, dict(zip([u.id for u in p.units], combo, strict=True))) <= 0.3 + 1e-9)
    for exact in (True, False):
        if not exact:  # the search path
            monkeypatch.setattr(solver_mod, "EXACT_PMEDIAN_MAX_UNITS", 0)
        s = solve_territories(p, time_limit=3)
        assert s.status == ("optimal" if exact else "feasible")
        assert s.objective == pytest.approx(cost(s.assignment), rel=1e-9)
        assert s.objective == pytest.approx(best, rel=1e-7)
        assert s.territories[0].center is not None and s.territories[0].center.coords() == (52.05, 13.1)
        assert s.lower_bound is not None and s.lower_bound <= best + 1e-6


def test_capacities_on_given_and_chosen_territories_against_brute_force() -> None:
    """Different capacities make the free slots distinct: the search path runs; brute force checks every cap."""
    units = _units(9, 41)
    terr = [{"id": "A", "center": {"x": 20.0, "y": 20.0}, "capacity": 15.0}, {"id": "B", "capacity": 17.0},
            {"id": "C"}]
    p = TerritoriesProblem.model_validate({"units": units, "territories": terr, "balance": {"workload": 0.5},
                                           "travel": {"metric": "euclidean"}})
    caps = {"A": 15.0, "B": 17.0, "C": np.inf}
    s = solve_territories(p, time_limit=3)
    ld = loads(p, s.assignment)
    assert all(ld[t] <= caps[t] + 1e-9 for t in caps)  # (B's cap binds: without caps B gets >= 19.9)
    assert not s.violations
    assert "pinned" in str(s.stats["method"])  # the search path, not the exact model
    ids = [u.id for u in p.units]
    best = np.inf
    for combo in itertools.product("ABC", repeat=9):
        a = dict(zip(ids, combo, strict=True))
        la = loads(p, a)
        if max_dev(p, a) <= 0.5 + 1e-9 and all(la[t] <= caps[t] + 1e-9 for t in caps):
            best = min(best, mixed_cost(p, a))
    assert s.objective == pytest.approx(mixed_cost(p, s.assignment), rel=1e-9)
    assert s.objective == pytest.approx(best, rel=1e-7)
    assert s.lower_bound is not None and s.lower_bound <= best + 1e-6
