"""schemathesis against a live jobs API server: every operation, all checks but one, no 5xx allowed.

Starts ``python -m api.main`` on 127.0.0.1 with a fresh SQLite store and an API key, runs
``schemathesis run`` on its ``/openapi.json`` (all phases: examples, coverage, fuzzing, stateful),
prints the summary and writes the RESULTS.md section ``api-schemathesis``.

Two checks are excluded on purpose: ``positive_data_acceptance`` (a problem can match the JSON schema
and still be rejected by the model's cross-field checks, and that 422 is the correct answer) and
``use_after_free`` (``DELETE /v1/jobs/{id}`` cancels a job; the cancelled job, its events and its best
solution stay readable, as the API promises). The server's dispatcher is off, so generated jobs stay
queued (this checks the HTTP contract; the solvers have their own suites).

Usage::

    python benchmarks/api_schemathesis.py --max-examples 50 --time-limit 300
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.api_load import free_port, stop_server
from benchmarks.results_md import machine, write_section

KEY = "schemathesis-key"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--max-examples", type=int, default=50)
    ap.add_argument("--time-limit", type=float, default=300, help="bound on the schemathesis run (s)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)

    root = Path(__file__).resolve().parents[1]
    tmp = Path(tempfile.mkdtemp(prefix="salesplan-st-"))
    port = free_port()
    env = {**os.environ, "SALESPLAN_DATABASE_URL": f"sqlite:///{tmp / 'jobs.db'}",
           "SALESPLAN_API_KEYS": f"{KEY}:fuzz", "SALESPLAN_START_DISPATCHER": "false",
           "SALESPLAN_MAX_REQUEST_BYTES": "200000"}
    log = (tmp / "server.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "api.main", "--port", str(port)], env=env, cwd=root,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    st = Path(sys.executable).with_name("schemathesis")
    cmd = [str(st), "run", f"http://127.0.0.1:{port}/openapi.json", "--checks", "all",
           "--exclude-checks", "positive_data_acceptance,use_after_free", "-H", f"X-API-Key: {KEY}",
           "--max-examples", str(args.max_examples), "--seed", str(args.seed),
           "--max-time", str(int(args.time_limit)), "--wait-for-schema", "60", "--workers", "1"]
    t0 = time.monotonic()
    try:
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=args.time_limit + 120,
                             env={**os.environ, "NO_COLOR": "1"}, check=False)
    finally:
        stop_server(proc)
        log.close()
    wall = time.monotonic() - t0
    out = re.sub(r"\x1b\[[0-9;]*m", "", run.stdout + run.stderr)
    print(out)
    server_log = (tmp / "server.log").read_text(errors="replace")
    tracebacks = server_log.count("Traceback")
    summary = [ln.strip() for ln in out.splitlines()
               if re.search(r"(passed|failed|error|Test cases|Operations|No issues|issues found|checks)", ln, re.I)]
    verdict = "no failures" if run.returncode == 0 else f"FAILED (exit {run.returncode})"
    print(f"\nschemathesis: {verdict}; server tracebacks logged: {tracebacks}; {wall:.0f} s")
    if not args.no_write:
        cmd_txt = "python benchmarks/api_schemathesis.py " + " ".join(argv if argv is not None else sys.argv[1:])
        body = "\n".join(f"    {ln}" for ln in summary[-25:])
        write_section("api-schemathesis", (
            "## Jobs API contract fuzzing (benchmarks/api_schemathesis.py)\n\n"
            f"`{cmd_txt.strip()}` on {machine()}: `schemathesis run --checks all --exclude-checks "
            f"positive_data_acceptance,use_after_free --max-examples {args.max_examples}` (all phases, stateful "
            "through the spec's links) against a live server with an API key (dispatcher off, SQLite). Excluded: "
            "a schema-valid problem may still fail the model's cross-field checks (422 is then right); DELETE "
            "cancels a job, which stays readable by design.\n\n"
            f"**Result: {verdict}**, {tracebacks} server tracebacks logged, {wall:.0f} s.\n\n{body}\n"
        ))
    return run.returncode


if __name__ == "__main__":
    raise SystemExit(main())
