"""Write one benchmark's section of ``benchmarks/RESULTS.md`` without touching the others.

Each suite owns the block between ``<!-- BEGIN name -->`` and ``<!-- END name -->``.
"""

from __future__ import annotations

import fcntl
import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
HEADER = (
    "# Benchmark results\n\n"
    "Written by the scripts in this folder (`salesplan bench SUITE` or `python benchmarks/SCRIPT.py`). "
    "Each section says how it was produced; figures are from one run on the machine named in it.\n"
)


def machine() -> str:
    """A one-line description of the machine and the commit."""
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             cwd=RESULTS.parent, check=False).stdout.strip()
    except OSError:
        rev = "?"
    return (f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"commit {rev or '?'}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")


def write_section(name: str, markdown: str) -> Path:
    """Replace (or append) the section ``name`` of RESULTS.md with ``markdown``.

    Benchmarks running at the same time may write their sections concurrently: the read-modify-write
    holds an exclusive lock on a sibling lock file and replaces RESULTS.md atomically, so no section is lost.
    """
    begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
    block = f"{begin}\n{markdown.rstrip()}\n{end}"
    with RESULTS.with_suffix(".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else HEADER
        if begin in text and end in text:
            pre, rest = text.split(begin, 1)
            _, post = rest.split(end, 1)
            text = pre + block + post
        else:
            text = text.rstrip() + "\n\n" + block + "\n"
        tmp = RESULTS.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, RESULTS)
    return RESULTS


def table(headers: list[str], rows: list[list[object]]) -> str:
    """A GitHub-flavoured markdown table."""
    def cell(v: object) -> str:
        if isinstance(v, float):
            return f"{v:,.2f}"
        return str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)
