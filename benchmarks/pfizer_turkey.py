"""Pfizer Turkey realignment: salesplan vs the reference values of the dataset README.

For each instance and workload bounds: min distance, min disruption (workload moved) and the
number of points on the exact distance/disruption Pareto front (epsilon-constraint on a grid), with
the time taken. Run: ``python benchmarks/pfizer_turkey.py --time-limit 60``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.results_md import machine, table, write_section
from optimizer.territories import solve_territories
from optimizer.territories.datasets import pfizer_problem

#: (instance, lo, hi) -> (min distance, min disruption) from the dataset README
REFERENCE = {
    ("22x4", 0.8, 1.2): (154.60, 0.1696),
    ("22x4", 0.85, 1.15): (160.32, 0.2529),
    ("22x4", 0.9, 1.1): (162.43, 0.2529),
    ("100x10", 0.8, 1.2): (15.0374, 0.3427),
    ("100x10", 0.9, 1.1): (15.3797, 0.5495),
}


def main() -> None:
    """Run every case, print the table and write the ``territories-pfizer`` section."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    rows = []
    for (size, lo, hi), (ref_d, ref_m) in REFERENCE.items():
        t0 = time.monotonic()
        sol = solve_territories(pfizer_problem(size, lo, hi), time_limit=args.time_limit)
        el = time.monotonic() - t0
        front = sol.pareto
        min_m = min(p.workload_moved for p in front) if front else float("nan")
        rows.append([size, f"[{lo}, {hi}]", sol.status, f"{sol.metrics.distance_sum:.4f}", f"{ref_d}",
                     f"{min_m:.4f}", f"{ref_m}", len(front), f"{el:.1f}"])
        print(rows[-1], flush=True)
    md = table(["instance", "bounds", "status", "min distance", "README", "min disruption", "README",
                "front points", "time s"], rows)
    print(md)
    if not args.no_write:
        cmd = "python benchmarks/pfizer_turkey.py " + " ".join(sys.argv[1:])
        write_section("territories-pfizer", f"## territories: Pfizer Turkey realignment\n\nCommand: `{cmd}`\n\n"
                      f"Machine: {machine()}\n\nExact HiGHS MIPs: min distance, min disruption (lexicographic), "
                      "and an epsilon-constraint front of up to 20 points between them.\n\n" + md + "\n")


if __name__ == "__main__":
    main()
