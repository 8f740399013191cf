"""Make every territory one connected piece of the adjacency graph."""

from __future__ import annotations

from collections import deque

import numpy as np

from optimizer.territories.alloc import State
from optimizer.territories.instance import IntArray


def _pieces(st: State, t: int) -> list[list[int]]:
    assert st.nb is not None
    members = np.flatnonzero(st.a == t)
    seen: set[int] = set()
    out: list[list[int]] = []
    for s0 in members:
        s = int(s0)
        if s in seen:
            continue
        comp: list[int] = [s]
        seen.add(s)
        q: deque[int] = deque([s])
        while q:
            u = q.popleft()
            for v0 in st.nb[u]:
                v = int(v0)
                if v not in seen and st.a[v] == t:
                    seen.add(v)
                    comp.append(v)
                    q.append(v)
        out.append(comp)
    return out


def repair_contiguity(st: State, anchors: IntArray, max_rounds: int = 50) -> int:
    """Give every detached piece of a territory to a neighbouring territory.

    The piece holding the territory's anchor unit (its centre or the unit nearest it) stays; any
    other piece moves, whole, to the adjacent territory where it costs least. Locked units are never
    moved, so a territory whose locked units lie apart stays disconnected. Returns the number of
    territories still disconnected.
    """
    assert st.nb is not None
    inst = st.inst
    for _ in range(max_rounds):
        changed = False
        bad = 0
        for t in range(inst.k):
            pieces = _pieces(st, t)
            if len(pieces) <= 1:
                continue
            bad += 1
            anchor = int(anchors[t]) if anchors[t] >= 0 else -1
            keep = next((p for p in pieces if anchor in p), None)
            if keep is None:
                keep = max(pieces, key=lambda p: float(inst.measures[p, 0].sum()))
            for piece in pieces:
                if piece is keep or inst.locked[piece].any():
                    continue
                nbr_terr = {int(st.a[v]) for u in piece for v in st.nb[u] if st.a[v] != t}
                if not nbr_terr:
                    continue
                idx = np.array(piece)
                best = min(nbr_terr, key=lambda b: float(st.cost[idx, b].sum()))
                for u in piece:
                    st.apply(u, best)
                changed = True
        if not changed:
            return bad
    return sum(len(_pieces(st, t)) > 1 for t in range(inst.k))
