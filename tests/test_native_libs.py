"""OR-Tools and highspy both load a ``libhighs.so.1``; the first one loaded wins for both.

With mismatched versions, whichever is imported second fails with an undefined symbol (seen with
ortools 9.15 + highspy 1.15: routing after a staffing solve broke). highspy is pinned to the
HiGHS release OR-Tools bundles; these tests import both, in both orders, in fresh interpreters.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

ROUTING = "from ortools.constraint_solver import pywrapcp; from ortools.sat.python import cp_model"
HIGHS = "import highspy; h = highspy.Highs(); h.setOptionValue('output_flag', False)"
PULP_HIGHS = (
    "import pulp; p = pulp.LpProblem('t', pulp.LpMinimize); x = pulp.LpVariable('x', 0, 9, cat='Integer');"
    " p += x; p += x >= 2.5; p.solve(pulp.HiGHS(msg=False)); assert x.value() == 3"
)


@pytest.mark.parametrize("code", [f"{HIGHS}; {ROUTING}", f"{ROUTING}; {HIGHS}", f"{ROUTING}; {PULP_HIGHS}"])
def test_ortools_and_highs_load_in_one_process(code: str) -> None:
    done = subprocess.run([sys.executable, "-c", code + "; print('ok')"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("ok")
