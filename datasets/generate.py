"""Write the demo set (``datasets/demo/``) or any generated instance.

Usage (from the repository root)::

    .venv/bin/python datasets/generate.py                       # the committed demo set
    .venv/bin/python datasets/generate.py routes -o r.json --outlets 800 --reps 10 --weeks 4 --seed 3

The second form is the same as ``salesplan generate``. Everything is deterministic per seed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from optimizer.datagen import DEMO, estimate_utilisation, routes_instance, write
from optimizer.paths import DEMO_DIR


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, write the files and print what was written."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kind", nargs="?", default="demo", help="demo (default) | routes | territories | staffing")
    ap.add_argument("-o", "--output", type=Path, default=None, help="file, or folder for demo (default datasets/demo)")
    ap.add_argument("--outlets", type=int, default=DEMO["n_outlets"], help="outlets / units")
    ap.add_argument("--reps", type=int, default=DEMO["n_reps"], help="reps / territories")
    ap.add_argument("--weeks", type=int, default=DEMO["weeks"], help="horizon weeks (routes)")
    ap.add_argument("--layout", choices=["city", "region"], default=DEMO["layout"])
    ap.add_argument("--seed", type=int, default=DEMO["seed"])
    a = ap.parse_args(argv)
    output = a.output or (DEMO_DIR if a.kind == "demo" else Path(f"{a.kind}.json"))
    for path in write(a.kind, output, n=a.outlets, reps=a.reps, weeks=a.weeks, layout=a.layout, seed=a.seed):
        print(f"wrote {path}")
    if a.kind in ("demo", "routes"):
        util = estimate_utilisation(routes_instance(a.outlets, a.reps, a.weeks, a.layout, a.seed))
        print(f"estimated utilisation of the reps (nearest-neighbour tours, no waiting): {util:.0%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
