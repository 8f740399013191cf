"""The periodic plan of one group: day patterns, routes per (rep, day), insertion and pattern moves.

Every route kept in a :class:`Plan` has an exact :class:`~optimizer.routes.timing.Schedule`, so
the plan is feasible at every moment; moves are evaluated with exact re-timing and applied only
when they lower the penalised objective (missing required visits first, then cost).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

import numpy as np

from optimizer.routes.prep import Group
from optimizer.routes.timing import Schedule, schedule_route

#: Penalty per missing required visit inside the search (objective units).
MISS = 1e7
#: Positions checked exactly per insertion, cheapest (approximate) first.
MAX_CHECKS = 16
#: Patterns timed exactly per placement (ranked by approximate cost).
TOP_PATTERNS = 4
#: Patterns evaluated per outlet and move.
MAX_PATTERNS = 40


@dataclass
class Insertion:
    """Where to put one visit: vehicle, position, resulting route schedule and cost change."""

    k: int
    pos: int
    sched: Schedule
    delta: float


class Plan:
    """Routes of a group over the horizon, with per-outlet patterns.

    Parameters
    ----------
    g
        The group.
    seed
        Seed of the move order.
    """

    def __init__(self, g: Group, seed: int = 0) -> None:
        self.g = g
        self.rng = random.Random(seed)
        self.routes: dict[tuple[int, int], list[int]] = {kd: [] for kd in g.vehicles}
        self.sched: dict[tuple[int, int], Schedule | None] = {kd: None for kd in g.vehicles}
        self.cost_of: dict[tuple[int, int], float] = {kd: 0.0 for kd in g.vehicles}
        self.pattern: list[tuple[int, ...] | None] = [None] * g.n
        self.where: list[dict[int, int]] = [{} for _ in range(g.n)]  # outlet -> {day: vehicle}
        self.cmat = g.kmat if g.objective == "distance" else g.tmat
        self.skipped: set[int] = set()  # outlets the construction had no time for
        self.by_day: dict[int, list[int]] = {}
        for k, d in g.vehicles:
            self.by_day.setdefault(d, []).append(k)

    # -- costs ------------------------------------------------------------------------
    def route_cost(self, s: Schedule | None) -> float:
        """Objective contribution of a timed route (0 for an empty route)."""
        if s is None:
            return 0.0
        if self.g.objective == "distance":
            return s.distance_km
        return s.travel_minutes + s.waiting_minutes

    def timed(self, k: int, d: int, seq: list[int]) -> Schedule | None:
        """Exact schedule of ``seq`` for vehicle ``k`` on day ``d`` (None: infeasible)."""
        g = self.g
        return schedule_route(seq, g.vehicles[(k, d)], g.tmat, g.kmat, g.service, g.windows, g.demand)

    def missing(self, o: int) -> int:
        """Visits of outlet ``o`` not planned (0 for optional outlets)."""
        if self.g.optional[o]:
            return 0
        return self.g.visits[o] - len(self.where[o])

    def total(self) -> float:
        """Penalised objective: route costs - optional value + MISS x missing visits."""
        g = self.g
        c = sum(self.cost_of.values())
        for o in range(g.n):
            if g.optional[o]:
                c -= g.value[o] * len(self.where[o])
            else:
                c += MISS * self.missing(o)
        return c

    def objective(self) -> float:
        """Objective without the missing-visit penalty."""
        g = self.g
        return sum(self.cost_of.values()) - sum(g.value[o] * len(self.where[o]) for o in range(g.n) if g.optional[o])

    # -- edits ----------------------------------------------------------------------------
    def set_route(self, k: int, d: int, seq: list[int], s: Schedule | None) -> None:
        """Replace a route (``s`` must be its exact schedule)."""
        for o in self.routes[(k, d)]:
            if self.where[o].get(d) == k:
                del self.where[o][d]
        self.routes[(k, d)] = list(seq)
        self.sched[(k, d)] = s
        self.cost_of[(k, d)] = self.route_cost(s)
        for o in seq:
            self.where[o][d] = k

    def best_insertion(self, o: int, d: int, approx_only: bool = False) -> Insertion | None:
        """Cheapest feasible insertion of outlet ``o`` on day ``d`` over the eligible vehicles.

        With ``approx_only`` the cheapest approximate candidate is returned without exact timing
        (its ``sched`` is a placeholder; only ``delta`` is meaningful).
        """
        g = self.g
        cands: list[tuple[float, int, int]] = []
        empty_seen: set[object] = set()
        for k in self.by_day.get(d, []):
            if k not in g.eligible[o]:
                continue
            v = g.vehicles[(k, d)]
            seq = self.routes[(k, d)]
            if not seq:  # identical empty vehicles are one candidate
                if v in empty_seen:
                    continue
                empty_seen.add(v)
            if v.max_visits is not None and len(seq) >= v.max_visits:
                continue
            if v.capacity is not None and sum(g.demand[x] for x in seq) + g.demand[o] > v.capacity + 1e-9:
                continue
            nodes = np.array([v.start_node, *seq, v.end_node])
            a, b = nodes[:-1], nodes[1:]
            delta = self.cmat[a, o] + self.cmat[o, b] - self.cmat[a, b]
            # necessary condition: travel + service + break must fit in the shift / route length
            sc = self.sched[(k, d)]
            avail = min(v.shift_end - v.shift_start, v.max_route_minutes or float("inf"))
            avail -= v.brk[2] if v.brk is not None else 0.0
            base = (sc.travel_minutes + sc.service_minutes if sc is not None else 0.0) + g.service[o]
            dt = g.tmat[a, o] + g.tmat[o, b] - g.tmat[a, b]
            ok = base + dt <= avail + 1e-7
            cands.extend((float(x), k, p) for p, x in enumerate(delta) if ok[p])
        if not cands:
            return None
        cands.sort()
        if approx_only:
            x, k, p = cands[0]
            return Insertion(k, p, None, x)  # type: ignore[arg-type]
        for _, k, p in cands[:MAX_CHECKS]:
            seq = self.routes[(k, d)]
            new = [*seq[:p], o, *seq[p:]]
            s = self.timed(k, d, new)
            if s is not None:
                return Insertion(k, p, s, self.route_cost(s) - self.cost_of[(k, d)])
        return None

    def apply(self, o: int, d: int, ins: Insertion) -> None:
        """Insert outlet ``o`` on day ``d`` as found by :meth:`best_insertion`."""
        seq = self.routes[(ins.k, d)]
        self.set_route(ins.k, d, [*seq[:ins.pos], o, *seq[ins.pos:]], ins.sched)

    def remove(self, o: int) -> bool:
        """Take outlet ``o`` out of every route; False (and no change) if a route would break."""
        new: list[tuple[int, int, list[int], Schedule | None]] = []
        for d, k in self.where[o].items():
            seq = [x for x in self.routes[(k, d)] if x != o]
            s = self.timed(k, d, seq) if seq else None
            if seq and s is None:
                return False
            new.append((k, d, seq, s))
        for k, d, seq, s in new:
            self.set_route(k, d, seq, s)
        self.pattern[o] = None
        return True

    def _patterns(self, o: int) -> list[tuple[int, ...]]:
        pats = self.g.patterns[o]
        if len(pats) > MAX_PATTERNS:
            pats = self.rng.sample(pats, MAX_PATTERNS)
        return pats

    def place(self, o: int, *, require_all: bool = False, only: list[tuple[int, ...]] | None = None) -> bool:
        """Insert an outlet that is in no route on its best pattern (fewest missing, then cheapest).

        Optional outlets are placed only with every visit and when their value beats the cost.
        ``only`` restricts the patterns tried. Returns True when at least one visit was placed.
        """
        g = self.g
        pats = only if only is not None else self._patterns(o)
        if len(pats) > TOP_PATTERNS:
            # rank patterns by approximate insertion cost; time exactly only the best few
            approx = {d: self.best_insertion(o, d, approx_only=True) for d in {d for p in pats for d in p}}

            def rough(p: tuple[int, ...]) -> float:
                return sum(MISS if (a := approx[d]) is None else a.delta for d in p)

            pats = sorted(pats, key=rough)[:TOP_PATTERNS]
        days = sorted({d for p in pats for d in p})
        best_day = {d: self.best_insertion(o, d) for d in days}
        best: tuple[float, tuple[int, ...]] | None = None
        for p in pats:
            miss = sum(1 for d in p if best_day[d] is None)
            if miss and (g.optional[o] or require_all):
                continue
            cost = sum(ins.delta for d in p if (ins := best_day[d]) is not None)
            score = MISS * miss + cost
            if g.optional[o] and cost >= g.value[o] * len(p):
                continue
            if miss == len(p):
                continue
            if best is None or score < best[0] - 1e-9:
                best = (score, p)
        if best is None:
            if not g.optional[o] and self.pattern[o] is None and pats:
                # remember a pattern so later day re-routing may still place its visits
                self.pattern[o] = max(pats, key=lambda q: sum(len(self.by_day.get(d, [])) for d in q))
            return False
        p = best[1]
        # insertions on different days are independent; vehicles of one day differ per day
        for d in p:
            ins = best_day[d]
            if ins is not None:
                self.apply(o, d, ins)
        self.pattern[o] = p
        return True

    def fixed(self, o: int) -> bool:
        """True for a required outlet with exactly one pattern and one eligible rep (pinned)."""
        g = self.g
        return not g.optional[o] and len(g.patterns[o]) == 1 and len(g.eligible[o]) == 1

    def warm_start(self, routes: dict[tuple[int, int], list[int]]) -> None:
        """Start from given routes (e.g. last week's plan), kept as far as they are feasible.

        Each outlet keeps the allowed pattern that holds most of its given days (visits on other
        days are dropped); an optional outlet is kept only when its days form a whole pattern.
        Each route keeps its order; a stop that makes it infeasible (changed windows, shift) is
        dropped, and an optional outlet that loses a visit loses all of them. The remaining
        visits are placed by :meth:`construct`.
        """
        g = self.g
        given: list[set[int]] = [set() for _ in range(g.n)]
        for (k, d), seq in routes.items():
            if (k, d) not in self.routes:
                continue
            for o in seq:
                if 0 <= o < g.n and k in g.eligible[o] and d not in given[o]:
                    given[o].add(d)
        keep_days: list[set[int]] = [set() for _ in range(g.n)]
        for o in range(g.n):
            if not given[o] or not g.patterns[o]:
                continue
            best = max(g.patterns[o], key=lambda p: (len(given[o] & set(p)), -len(set(p) - given[o])))
            if g.optional[o] and set(best) != given[o]:
                continue  # all visits or none
            self.pattern[o] = best
            keep_days[o] = given[o] & set(best)
        dropped: set[int] = set()
        for _ in range(g.n + 1):
            changed = False
            for (k, d), seq in sorted(routes.items()):
                if (k, d) not in self.routes:
                    continue
                want, seen = [], set()
                for o in seq:
                    if 0 <= o < g.n and d in keep_days[o] and o not in dropped and o not in seen \
                            and k in g.eligible[o] and self.where[o].get(d, k) == k:
                        want.append(o)
                        seen.add(o)
                s = self.timed(k, d, want) if want else None
                if want and s is None:  # keep the given order, skip the stops that do not fit
                    cur: list[int] = []
                    s_cur = None
                    for o in want:
                        s_try = self.timed(k, d, [*cur, o])
                        if s_try is not None:
                            cur, s_cur = [*cur, o], s_try
                    want, s = cur, s_cur
                if want != self.routes[(k, d)]:
                    self.set_route(k, d, want, s)
            for o in range(g.n):
                if g.optional[o] and o not in dropped and self.where[o] and set(self.where[o]) != keep_days[o]:
                    dropped.add(o)
                    self.pattern[o] = None
                    changed = True
            if not changed:
                break
        for o in range(g.n):
            if not self.where[o] and (g.optional[o] or o in dropped):
                self.pattern[o] = None

    def fill(self, o: int) -> bool:
        """Insert the missing visits of a required outlet on the days of its current pattern."""
        p = self.pattern[o]
        if p is None or self.g.optional[o]:
            return False
        done = False
        for d in p:
            if d in self.where[o]:
                continue
            ins = self.best_insertion(o, d)
            if ins is not None:
                self.apply(o, d, ins)
                done = True
        return done

    def construct(self, deadline: float | None = None) -> None:
        """Periodic cheapest insertion: pinned outlets first, then frequent, constrained outlets;
        optional ones last.

        Outlets already in routes (:meth:`warm_start`) keep their visits; their missing visits
        are inserted on their pattern days. Past ``deadline`` (a ``time.monotonic()`` value) the
        remaining outlets are left out (their visits are then reported missing).
        """
        g = self.g
        for o in self._order():
            if self.where[o]:
                if self.missing(o) > 0:
                    self.fill(o)
                continue
            if deadline is not None and time.monotonic() > deadline:
                if not g.optional[o] and g.patterns[o]:
                    self.pattern[o] = g.patterns[o][0]
                self.skipped.add(o)
                continue
            self.place(o)

    def _order(self) -> list[int]:
        g = self.g
        return sorted(
            range(g.n),
            key=lambda o: (
                g.optional[o],
                not self.fixed(o),
                -g.visits[o],
                len(g.patterns[o]),
                len(g.eligible[o]),
                sum(b - a for a, b in g.windows[o]) if g.windows[o] else 1e9,
                -float(min(g.tmat[g.vehicles[kd].start_node, o] for kd in g.vehicles)),
            ),
        )

    def try_move(self, o: int) -> bool:
        """Re-place outlet ``o`` on its best pattern; keep the change only if the total improves."""
        before = self.total()
        saved = {(k, d): (list(self.routes[(k, d)]), self.sched[(k, d)]) for d, k in self.where[o].items()}
        old_pat = self.pattern[o]
        if not self.remove(o):
            return False
        touched = set(saved)
        placed = self.place(o)
        if placed:
            touched |= {(k, d) for d, k in self.where[o].items()}
        if self.total() < before - 1e-6:
            return True
        # undo: restore every touched route
        for kd in touched:
            seq, s = saved.get(kd, ([x for x in self.routes[kd] if x != o], None))
            if kd not in saved:
                s = self.timed(kd[0], kd[1], seq) if seq else None
            self.set_route(kd[0], kd[1], seq, s)
        self.pattern[o] = old_pat
        return False

    def swap_patterns(self, o1: int, o2: int) -> bool:
        """Exchange the patterns of two outlets (each must allow the other's); keep it only if the
        total improves (exact removal and insertion on every day involved)."""
        g = self.g
        p1, p2 = self.pattern[o1], self.pattern[o2]
        if p1 is None or p2 is None or p1 == p2 or p2 not in g.patterns[o1] or p1 not in g.patterns[o2]:
            return False
        if self.missing(o1) or self.missing(o2) or not self.where[o1] or not self.where[o2]:
            return False
        before = self.total()
        snap = self.snapshot()
        if not (self.remove(o1) and self.remove(o2)):
            self.restore(snap)
            return False
        self.place(o1, only=[p2], require_all=True)
        self.place(o2, only=[p1], require_all=True)
        if self.total() < before - 1e-6:
            return True
        self.restore(snap)
        return False

    def swap_candidates(self, o: int, width: int = 5) -> list[int]:
        """Nearest outlets (granular neighbourhood) whose pattern ``o`` may take and vice versa."""
        g = self.g
        p = self.pattern[o]
        if p is None or len(g.patterns[o]) < 2:
            return []
        out: list[int] = []
        for x in np.argsort(self.cmat[o, : g.n], kind="stable"):
            x = int(x)
            q = self.pattern[x]
            if x != o and q is not None and q != p and q in g.patterns[o] and p in g.patterns[x]:
                out.append(x)
                if len(out) >= width:
                    break
        return out

    def relaxed_deltas(self) -> list[tuple[float, int, tuple[int, ...]]]:
        """Estimated cost change of every pattern change of fully planned multi-visit outlets.

        The estimate is the removal gain on the days the outlet leaves against the cheapest
        insertion (any eligible vehicle, any position) on the days it joins, ignoring capacity,
        route length and windows (the whole-horizon VRP that judges the change repairs those, as
        in the penalised pattern moves of Vidal et al. 2012). Changes that overload a day's total
        capacity are left out. Returns ``(delta, outlet, pattern)`` sorted by ``delta``.
        """
        g = self.g
        cand = [
            o for o in range(g.n)
            if g.visits[o] > 1 and len(g.patterns[o]) > 1 and not g.optional[o]
            and self.pattern[o] is not None and self.missing(o) == 0
        ]
        day_cap: dict[int, float] = {}
        day_load: dict[int, float] = {}
        for d, ks in self.by_day.items():
            caps = [g.vehicles[(k, d)].capacity for k in ks]
            day_cap[d] = float("inf") if any(c is None for c in caps) else float(sum(c or 0.0 for c in caps))
            day_load[d] = sum(g.demand[o] for k in ks for o in self.routes[(k, d)])
        for o in range(g.n):  # visits waiting for the whole-horizon VRP count too
            for d in self.pattern[o] or ():
                if d not in self.where[o] and d in day_load and not g.optional[o]:
                    day_load[d] += g.demand[o]
        ins_cache: dict[tuple[int, int], float] = {}

        def ins(o: int, d: int) -> float:
            key = (o, d)
            if key not in ins_cache:
                best = float("inf")
                for k in self.by_day.get(d, []):
                    if k not in g.eligible[o]:
                        continue
                    v = g.vehicles[(k, d)]
                    nodes = np.array([v.start_node, *self.routes[(k, d)], v.end_node])
                    a, b = nodes[:-1], nodes[1:]
                    best = min(best, float(np.min(self.cmat[a, o] + self.cmat[o, b] - self.cmat[a, b])))
                ins_cache[key] = best
            return ins_cache[key]

        out: list[tuple[float, int, tuple[int, ...]]] = []
        for o in cand:
            old = self.pattern[o]
            if old is None:
                continue
            rem: dict[int, float] = {}
            for d, k in self.where[o].items():
                v = g.vehicles[(k, d)]
                seq = self.routes[(k, d)]
                i = seq.index(o)
                a = seq[i - 1] if i > 0 else v.start_node
                b = seq[i + 1] if i + 1 < len(seq) else v.end_node
                rem[d] = float(self.cmat[a, o] + self.cmat[o, b] - self.cmat[a, b])
            for p in g.patterns[o]:
                if p == old:
                    continue
                joins = [d for d in p if d not in old]
                if any(d not in day_load or day_load[d] + g.demand[o] > day_cap[d] + 1e-9 for d in joins):
                    continue
                delta = sum(ins(o, d) for d in joins) - sum(rem.get(d, 0.0) for d in old if d not in p)
                if delta < float("inf"):
                    out.append((delta, o, p))
        out.sort()
        return out

    # -- large neighbourhood search ----------------------------------------------------------
    def snapshot(self) -> tuple[object, ...]:
        """Copy of the mutable state (for :meth:`restore`)."""
        return (
            {kd: list(s) for kd, s in self.routes.items()},
            dict(self.sched),
            dict(self.cost_of),
            list(self.pattern),
            [dict(w) for w in self.where],
        )

    def restore(self, snap: tuple[object, ...]) -> None:
        """Return to a state saved by :meth:`snapshot`."""
        routes, sched, cost_of, pattern, where = snap
        self.routes = routes  # type: ignore[assignment]
        self.sched = sched  # type: ignore[assignment]
        self.cost_of = cost_of  # type: ignore[assignment]
        self.pattern = pattern  # type: ignore[assignment]
        self.where = where  # type: ignore[assignment]

    def ruin_recreate(self, q: int) -> bool:
        """Remove an outlet and its ``q - 1`` nearest neighbours, re-insert them on their best
        patterns (frequent outlets first); keep the result only when the total improves."""
        g = self.g
        if g.n == 0:
            return False
        seed_o = self.rng.randrange(g.n)
        near = np.argsort(self.cmat[seed_o, : g.n], kind="stable")[: max(1, q)]
        before = self.total()
        snap = self.snapshot()
        removed = [int(o) for o in near if self.where[int(o)] or self.pattern[int(o)] is not None]
        removed = [o for o in removed if self.remove(o)]
        self.rng.shuffle(removed)
        removed.sort(key=lambda o: (g.optional[o], -g.visits[o]))
        for o in removed:
            self.place(o)
        if self.total() < before - 1e-6:
            return True
        self.restore(snap)
        return False
