"""Allocation with fixed centres: balanced transport LP / MIP, rounding, balance repair, local search.

With centres fixed, the assignment problem is a generalised assignment with range constraints:
minimise ``sum cost[i, t] x[i, t]`` subject to one territory per unit, each territory's total of each
balanced measure within ``[lo, hi]``, locked units in place and caps on moves. Its LP relaxation over
*all* unit/territory pairs is a valid lower bound for these centres; a basic LP solution has at most
about ``k x measures`` split units, so rounding plus a short repair is close to optimal.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from optimizer.territories.instance import FloatArray, Instance, IntArray


@dataclass
class AllocResult:
    """Result of an LP or MIP allocation."""

    assign: IntArray | None
    value: float | None
    optimal: bool
    frac: FloatArray | None = None
    pairs: tuple[IntArray, IntArray] | None = None


def cost_matrix(inst: Instance, dist: FloatArray) -> FloatArray:
    """``wt x dist`` plus the move cost for leaving the current territory."""
    c = inst.wt[:, None] * dist
    has = inst.current >= 0
    if inst.move_cost.any():
        c[has] += inst.move_cost[has, None]
        c[np.flatnonzero(has), inst.current[has]] -= inst.move_cost[has]
    return c


def candidate_pairs(inst: Instance, cost: FloatArray, kk: int | None) -> tuple[IntArray, IntArray]:
    """(unit, territory) pairs allowed: all, or each unit's ``kk`` cheapest plus its current one."""
    n, k = cost.shape
    if kk is None or kk >= k:
        tt = np.tile(np.arange(k), n)
        ii = np.repeat(np.arange(n), k)
    else:
        near = np.argpartition(cost, kk - 1, axis=1)[:, :kk]
        extra = np.where(inst.current >= 0, inst.current, near[:, 0])
        m = np.concatenate([near, extra[:, None]], axis=1)
        m.sort(axis=1)
        keep = np.ones_like(m, dtype=bool)
        keep[:, 1:] = m[:, 1:] != m[:, :-1]
        ii = np.repeat(np.arange(n), m.shape[1])[keep.ravel()]
        tt = m.ravel()[keep.ravel()]
    lockmask = inst.locked[ii]
    ok = ~lockmask | (tt == inst.current[ii])
    return ii[ok].astype(np.int64), tt[ok].astype(np.int64)


def _constraints(
    inst: Instance, ii: IntArray, tt: IntArray, max_moved: float | None, max_wmoved: float | None
) -> tuple[sp.csr_matrix, FloatArray, FloatArray]:
    n, k = inst.n, inst.k
    nv = len(ii)
    cols = np.arange(nv)
    blocks = [sp.csr_matrix((np.ones(nv), (ii, cols)), shape=(n, nv))]
    lo_l: list[FloatArray] = [np.ones(n)]
    hi_l: list[FloatArray] = [np.ones(n)]
    for j in range(3):
        lo, hi = inst.lo[:, j], inst.hi[:, j]
        if np.isfinite(lo).any() or np.isfinite(hi).any():
            blocks.append(sp.csr_matrix((inst.measures[ii, j], (tt, cols)), shape=(k, nv)))
            lo_l.append(lo)
            hi_l.append(hi)
    stay = (inst.current[ii] == tt) & (inst.current[ii] >= 0)
    has = inst.current >= 0
    for cap, size in ((max_moved, np.ones(n)), (max_wmoved, inst.measures[:, 0])):
        if cap is not None:
            # sum over units that stay of size >= total size of units with a current territory - cap
            blocks.append(sp.csr_matrix((size[ii] * stay, (np.zeros(nv, dtype=np.int64), cols)), shape=(1, nv)))
            lo_l.append(np.array([float(size[has].sum()) - cap - 1e-9]))
            hi_l.append(np.array([np.inf]))
    return sp.vstack(blocks).tocsr(), np.concatenate(lo_l), np.concatenate(hi_l)


def solve_allocation(
    inst: Instance,
    cost: FloatArray,
    *,
    integral: bool,
    kk: int | None = None,
    time_limit: float = 10.0,
    max_moved: float | None = None,
    max_wmoved: float | None = None,
    extra: tuple[FloatArray, float] | None = None,
) -> AllocResult:
    """Solve the allocation LP (``integral=False``) or MIP with HiGHS.

    Parameters
    ----------
    inst
        The instance (bounds, locks, current territories).
    cost
        (n x k) cost of giving unit i to territory t.
    integral
        MIP (exact for these centres) or LP relaxation.
    kk
        Restrict each unit to its ``kk`` cheapest territories (None: all pairs; only then is the LP a
        valid lower bound).
    time_limit
        Seconds for HiGHS.
    max_moved, max_wmoved
        Caps on units / workload moved from ``current`` (default: the instance's).
    extra
        Optional ``(coef, ub)``: one more constraint ``sum coef[i, t] x[i, t] <= ub``.
    """
    if max_moved is None:
        max_moved = inst.max_moved
    if max_wmoved is None:
        max_wmoved = inst.max_workload_moved
    ii, tt = candidate_pairs(inst, cost, kk)
    c = cost[ii, tt]
    A, lo, hi = _constraints(inst, ii, tt, max_moved, max_wmoved)
    if extra is not None:
        A = sp.vstack([A, sp.csr_matrix(extra[0][ii, tt][None, :])]).tocsr()
        lo = np.append(lo, -np.inf)
        hi = np.append(hi, extra[1])
    tl = max(0.05, float(time_limit))
    if integral:
        res = milp(c, constraints=LinearConstraint(A, lo, hi), integrality=np.ones(len(c)),
                   bounds=Bounds(0, 1), options={"time_limit": tl, "mip_rel_gap": 1e-7, "disp": False})
        if res.x is None:
            return AllocResult(None, None, False)
        x = res.x
        a = np.full(inst.n, -1, dtype=np.int64)
        sel = x > 0.5
        a[ii[sel]] = tt[sel]
        return AllocResult(a, float(res.fun), res.status == 0, x, (ii, tt))
    eq = lo == hi
    A_ub = sp.vstack([A[~eq & np.isfinite(hi)], -A[~eq & np.isfinite(lo)]]).tocsr()
    b_ub = np.concatenate([hi[~eq & np.isfinite(hi)], -lo[~eq & np.isfinite(lo)]])
    res = linprog(c, A_ub=A_ub, b_ub=b_ub, A_eq=A[eq], b_eq=lo[eq], bounds=(0, 1), method="highs",
                  options={"time_limit": tl, "presolve": True})
    if res.status != 0 or res.x is None:
        return AllocResult(None, None, False)
    x = res.x
    a = np.full(inst.n, -1, dtype=np.int64)
    best = np.zeros(inst.n)
    order = np.argsort(x, kind="stable")
    a[ii[order]] = tt[order]  # the last write per unit wins: its largest fraction
    best[ii[order]] = x[order]
    return AllocResult(a, float(res.fun), True, x, (ii, tt))


class State:
    """A mutable assignment with its loads and move counts, for repair and local search."""

    def __init__(self, inst: Instance, a: IntArray, cost: FloatArray, contig: bool = False) -> None:
        self.inst = inst
        self.a = a.copy()
        self.cost = cost
        self.contig = contig
        self.L = np.zeros((inst.k, 3))
        for j in range(3):
            self.L[:, j] = np.bincount(self.a, weights=inst.measures[:, j], minlength=inst.k)
        self.mean = np.maximum(inst.measures.sum(0) / inst.k, 1e-12)
        self._lo = inst.lo.tolist()
        self._hi = inst.hi.tolist()
        self._mean = self.mean.tolist()
        self._active = [j for j in range(3) if np.isfinite(inst.lo[:, j]).any() or np.isfinite(inst.hi[:, j]).any()]
        mv = (inst.current >= 0) & (self.a != inst.current)
        self.moved = float(mv.sum())
        self.wmoved = float(inst.measures[mv, 0].sum())
        self.nb = inst.neighbours() if contig else None

    # -- balance -------------------------------------------------------------------------
    def violation(self, L: FloatArray | None = None) -> float:
        """Total relative excess of the loads over their bounds."""
        L = self.L if L is None else L
        inst = self.inst
        over = np.maximum(L - inst.hi, 0) + np.maximum(inst.lo - L, 0)
        return float((over / self.mean).sum())

    def _row_violation(self, t: int, row: FloatArray) -> float:
        # plain floats: far faster than numpy on three numbers, and this is the hot path
        tot = 0.0
        lo, hi = self._lo[t], self._hi[t]
        for j in self._active:
            v = float(row[j])
            if v > hi[j]:
                tot += (v - hi[j]) / self._mean[j]
            elif v < lo[j]:
                tot += (lo[j] - v) / self._mean[j]
        return tot

    def shift_delta_violation(self, i: int, b: int) -> float:
        """Change of :meth:`violation` if unit ``i`` moves to ``b``."""
        a = self.a[i]
        m = self.inst.measures[i]
        before = self._row_violation(a, self.L[a]) + self._row_violation(b, self.L[b])
        after = self._row_violation(a, self.L[a] - m) + self._row_violation(b, self.L[b] + m)
        return after - before

    def _dv_batch(self, ii: IntArray, bb: IntArray) -> FloatArray:
        """Vectorised :meth:`shift_delta_violation` for many (unit, target) pairs."""
        inst = self.inst
        aa = self.a[ii]
        m = inst.measures[ii]

        def viol(rows: FloatArray, t: IntArray) -> FloatArray:
            over = np.maximum(rows - inst.hi[t], 0) + np.maximum(inst.lo[t] - rows, 0)
            return np.asarray((over[:, self._active] / self.mean[self._active]).sum(1), dtype=np.float64)

        before = viol(self.L[aa], aa) + viol(self.L[bb], bb)
        after = viol(self.L[aa] - m, aa) + viol(self.L[bb] + m, bb)
        return after - before

    def caps_ok(self, i: int, b: int) -> bool:
        """Whether moving unit ``i`` to ``b`` keeps the move caps."""
        inst = self.inst
        if inst.locked[i]:
            return False
        cur = inst.current[i]
        if cur < 0:
            return True
        dm = int(b != cur) - int(self.a[i] != cur)
        if inst.max_moved is not None and dm > 0 and self.moved + dm > inst.max_moved + 1e-9:
            return False
        dw = dm * inst.measures[i, 0]
        return not (inst.max_workload_moved is not None and dw > 0
                    and self.wmoved + dw > inst.max_workload_moved + 1e-9)

    def apply(self, i: int, b: int) -> None:
        """Move unit ``i`` to territory ``b``."""
        inst = self.inst
        a = self.a[i]
        m = inst.measures[i]
        self.L[a] -= m
        self.L[b] += m
        cur = inst.current[i]
        if cur >= 0:
            dm = int(b != cur) - int(a != cur)
            self.moved += dm
            self.wmoved += dm * m[0]
        self.a[i] = b

    def caps_exceeded(self) -> bool:
        """True when the units or workload moved exceed their caps."""
        inst = self.inst
        return bool((inst.max_moved is not None and self.moved > inst.max_moved + 1e-9)
                    or (inst.max_workload_moved is not None and self.wmoved > inst.max_workload_moved + 1e-9))

    def repair_caps(self) -> None:
        """Send moved units back to their current territory while a move cap is exceeded.

        The rounded allocation LP can overshoot a cap by a unit or two, and the balance repair never
        reduces the moves; each step takes the unit whose return hurts the balance least, then costs least.
        """
        inst = self.inst
        while self.caps_exceeded():
            mv = np.flatnonzero((inst.current >= 0) & (self.a != inst.current) & ~inst.locked)
            if len(mv) == 0:
                break
            back = inst.current[mv]
            dc = self.cost[mv, back] - self.cost[mv, self.a[mv]]
            dv = np.round(self._dv_batch(mv, back), 12)
            q = int(np.lexsort((dc, dv))[0])
            self.apply(int(mv[q]), int(back[q]))

    # -- contiguity ----------------------------------------------------------------------
    def touches(self, i: int, b: int) -> bool:
        """Unit ``i`` has a neighbour in territory ``b`` (always True without contiguity)."""
        if self.nb is None:
            return True
        return bool((self.a[self.nb[i]] == b).any())

    def can_leave(self, i: int) -> bool:
        """Removing unit ``i`` keeps its territory connected (always True without contiguity)."""
        if self.nb is None:
            return True
        t = self.a[i]
        same = [int(v) for v in self.nb[i] if self.a[v] == t]
        if len(same) <= 1:
            return len(same) == 1 or (self.a == t).sum() == 1
        targets = set(same[1:])
        seen = {i, same[0]}
        q = deque([same[0]])
        while q and targets:
            u = q.popleft()
            for v in self.nb[u]:
                v = int(v)
                if v not in seen and self.a[v] == t:
                    seen.add(v)
                    targets.discard(v)
                    q.append(v)
        return not targets

    # -- moves ---------------------------------------------------------------------------
    def repair_balance(self, max_iter: int | None = None, stop: Callable[[], bool] | None = None) -> None:
        """Greedy shifts that reduce the balance violation most per unit of extra cost, until none helps.

        Each unit first tries only its 8 cheapest territories (fast on large instances); all
        territories are tried when that finds no move.
        """
        inst = self.inst
        it = 0
        limit = max_iter if max_iter is not None else 20 * inst.n
        kk = min(inst.k, 8)
        near = (np.argpartition(self.cost, kk - 1, axis=1)[:, :kk] if kk < inst.k
                else np.tile(np.arange(inst.k), (inst.n, 1)))
        wide = kk >= inst.k
        while self.violation() > 1e-12 and it < limit:
            it += 1
            if stop is not None and it % 50 == 0 and stop():
                break
            move = self._best_repair_move(near)
            if move is None and not wide:
                move = self._best_repair_move(np.tile(np.arange(inst.k), (inst.n, 1)))
            if move is None:
                break
            self.apply(*move)

    def _best_repair_move(self, near: IntArray) -> tuple[int, int] | None:
        inst = self.inst
        over = np.maximum(self.L - inst.hi, 0).sum(1) > 1e-12
        under = np.maximum(inst.lo - self.L, 0).sum(1) > 1e-12
        if over.any():
            cand = np.flatnonzero(over[self.a] & ~inst.locked)
            ok_t = np.ones(inst.k, dtype=bool)
        else:
            cand = np.flatnonzero(~under[self.a] & ~inst.locked)
            ok_t = under
        if len(cand) == 0:
            return None
        tg = near[cand]
        dc = self.cost[cand[:, None], tg] - self.cost[cand, self.a[cand]][:, None]
        dc = np.where(ok_t[tg] & (tg != self.a[cand][:, None]), dc, np.inf)
        flat = dc.ravel()
        fin = np.flatnonzero(np.isfinite(flat))
        if len(fin) == 0:
            return None
        width = tg.shape[1]
        rr, cc = np.divmod(fin, width)
        ii, bb = cand[rr], tg[rr, cc]
        dv = self._dv_batch(ii, bb)
        good = dv < -1e-12
        if not good.any():
            return None
        fin, ii, bb, dv = fin[good], ii[good], bb[good], dv[good]
        # most violation removed per unit of extra cost (free improvements first)
        score = dv / np.maximum(flat[fin], 1e-9)
        best: tuple[float, int, int] | None = None
        order = np.argsort(score, kind="stable")
        # without contiguity the first candidate that keeps the caps is taken; with it, many may be rejected
        for q in order if self.nb is not None else order[:256]:
            i, b = int(ii[q]), int(bb[q])
            if self.caps_ok(i, b) and self.touches(i, b) and self.can_leave(i):
                best = (float(score[q]), i, b)
                break
        return None if best is None else (best[1], best[2])

    def local_search(self, deadline_check: object = None, rounds: int = 50) -> None:
        """Improving shifts and swaps that never increase the balance violation."""
        inst = self.inst
        stop = deadline_check if callable(deadline_check) else (lambda: False)
        kk = min(inst.k, 8)
        near = np.argpartition(self.cost, kk - 1, axis=1)[:, :kk] if kk < inst.k else np.tile(
            np.arange(inst.k), (inst.n, 1))
        for _ in range(rounds):
            improved = 0
            cur = self.cost[np.arange(inst.n), self.a]
            delta = self.cost[np.arange(inst.n)[:, None], near] - cur[:, None]
            order = np.argsort(delta, axis=None, kind="stable")
            for step, flat in enumerate(order):
                if step % 2000 == 1999 and stop():
                    break
                r, c = divmod(int(flat), kk)
                if delta[r, c] >= -1e-12:
                    break
                i, b = r, int(near[r, c])
                if b == self.a[i]:
                    continue
                d = self.cost[i, b] - self.cost[i, self.a[i]]
                if d >= -1e-12 or not self.caps_ok(i, b):
                    continue
                if self.shift_delta_violation(i, b) <= 1e-12 and self.touches(i, b) and self.can_leave(i):
                    self.apply(i, b)
                    improved += 1
                    continue
                if self._try_swap(i, b, d):
                    improved += 1
            if improved == 0 or stop():
                break

    def _try_swap(self, i: int, b: int, d_i: float) -> bool:
        inst = self.inst
        a = int(self.a[i])
        js = np.flatnonzero(self.a == b)
        js = js[~inst.locked[js]]
        if len(js) == 0:
            return False
        dj = self.cost[js, a] - self.cost[js, b]
        tot = d_i + dj
        ok = tot < -1e-12
        if not ok.any():
            return False
        js, tot = js[ok], tot[ok]
        for j in js[np.argsort(tot, kind="stable")][:20]:
            j = int(j)
            net = inst.measures[i] - inst.measures[j]
            la, lb = self.L[a] - net, self.L[b] + net
            before = self._row_violation(a, self.L[a]) + self._row_violation(b, self.L[b])
            if self._row_violation(a, la) + self._row_violation(b, lb) > before + 1e-12:
                continue
            if not self.caps_ok(i, b):
                continue
            # with contiguity both units must be able to leave and touch the other side
            if self.nb is not None and not (self.touches(i, b) and self.touches(j, a) and self.can_leave(i)
                                            and self.can_leave(j)):
                continue
            self.apply(i, b)
            if not self.caps_ok(j, a):
                self.apply(i, a)
                continue
            self.apply(j, a)
            if self.nb is not None and not (self.can_leave_check(a) and self.can_leave_check(b)):
                self.apply(j, b)
                self.apply(i, a)
                continue
            return True
        return False

    def can_leave_check(self, t: int) -> bool:
        """Territory ``t`` is connected (True without contiguity)."""
        if self.nb is None:
            return True
        members = np.flatnonzero(self.a == t)
        if len(members) <= 1:
            return True
        seen = {int(members[0])}
        q = deque([int(members[0])])
        while q:
            u = q.popleft()
            for v in self.nb[u]:
                v = int(v)
                if v not in seen and self.a[v] == t:
                    seen.add(v)
                    q.append(v)
        return len(seen) == len(members)
