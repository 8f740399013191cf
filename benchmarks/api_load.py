"""Load test of the jobs API: submission latency (p50/p99) and job throughput at several concurrencies.

Starts a real server (``python -m api.main``) on 127.0.0.1 with a fresh store (SQLite file by default),
then, for each concurrency level C:

* latency: C clients submit ``--requests`` tiny routes jobs as fast as they can (``POST /v1/jobs``),
  while the server's dispatcher runs; the queued leftovers are cancelled before the next level;
* throughput: C clients submit ``--jobs`` tiny jobs (``--job-time-limit`` s each) and we time until
  every one is final: jobs/s end to end through the process pool (``--workers``).

Usage::

    python benchmarks/api_load.py                     # 1, 8, 32 clients, SQLite, writes RESULTS.md
    python benchmarks/api_load.py --concurrency 1 8 --requests 100 --jobs 20 --no-write
    python benchmarks/api_load.py --database-url postgresql+psycopg://user:pw@127.0.0.1:5432/db
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.results_md import machine, table, write_section

TARGET_P99_MS = 50.0
FINAL = ("succeeded", "failed", "cancelled")


def tiny_problem(seed: int) -> dict[str, Any]:
    """A 5-outlet planar routes problem (validation is part of what a submission costs)."""
    rng = random.Random(seed)
    return {
        "reps": [{"id": "r1", "start": {"x": 0, "y": 0}}],
        "outlets": [{"id": f"o{i}", "location": {"x": rng.uniform(-20, 20), "y": rng.uniform(-20, 20)},
                     "service_minutes": 5} for i in range(5)],
        "travel": {"metric": "euclidean"},
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(db_url: str, workers: int, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``python -m api.main`` and wait for /healthz."""
    port = free_port()
    env = {**os.environ, "SALESPLAN_DATABASE_URL": db_url, "SALESPLAN_WORKERS": str(workers),
           "SALESPLAN_API_KEYS": "", "SALESPLAN_POLL_S": "0.05"}
    with log.open("ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "api.main", "--port", str(port)], env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                cwd=Path(__file__).resolve().parents[1])
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"server did not start; see {log}")
        time.sleep(0.2)


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def submit_many(
    base: str, concurrency: int, n: int, time_limit: float, seed0: int
) -> tuple[list[float], list[str], float]:
    """C client threads (keep-alive connections, plain ``http.client``) submit n jobs in total.

    A light client on purpose: the machine is shared with the server, and an async httpx client of
    32 connections costs more CPU than the server it measures.

    Returns
    -------
    tuple
        Latencies (s), job ids, wall time (s).
    """
    host, port = base.removeprefix("http://").rsplit(":", 1)
    bodies = [json.dumps({"kind": "routes", "problem": tiny_problem(seed0 + i),
                          "options": {"time_limit_s": time_limit}}).encode() for i in range(n)]
    latencies: list[float] = []
    ids: list[str] = []
    errors: list[str] = []
    counter = iter(range(n))
    lock = threading.Lock()

    def worker() -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        while True:
            with lock:
                i = next(counter, None)
            if i is None or errors:
                break
            t0 = time.perf_counter()
            conn.request("POST", "/v1/jobs", body=bodies[i], headers={"content-type": "application/json"})
            resp = conn.getresponse()
            data = resp.read()
            dt = time.perf_counter() - t0
            with lock:
                if resp.status != 202:
                    errors.append(f"{resp.status} {data[:200]!r}")
                latencies.append(dt)
                ids.append(json.loads(data)["id"])
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    if errors:
        raise SystemExit(f"submission failed: {errors[0]}")
    return latencies, ids, wall


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by the nearest-rank method."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(q * len(s) + 0.5) - 1))
    return s[k]


def wait_final(base: str, ids: list[str], timeout: float) -> tuple[float, dict[str, int]]:
    """Seconds until every job is final, and the final statuses."""
    t0 = time.perf_counter()
    pending = set(ids)
    statuses: dict[str, int] = {}
    with httpx.Client(base_url=base, timeout=30) as c:
        while pending:
            if time.perf_counter() - t0 > timeout:
                raise SystemExit(f"{len(pending)} jobs not final after {timeout} s")
            page = c.get("/v1/jobs", params={"limit": 500, "status": "queued"}).json()["total"]
            running = c.get("/v1/jobs", params={"limit": 1, "status": "running"}).json()["total"]
            if page == 0 and running == 0:
                for i in list(pending):
                    st = c.get(f"/v1/jobs/{i}").json()["status"]
                    if st in FINAL:
                        statuses[st] = statuses.get(st, 0) + 1
                        pending.discard(i)
            if pending:
                time.sleep(0.2)
    return time.perf_counter() - t0, statuses


def cancel_queued(base: str) -> None:
    with httpx.Client(base_url=base, timeout=30) as c:
        while True:
            page = c.get("/v1/jobs", params={"status": "queued", "limit": 500}).json()
            if not page["items"]:
                break
            for j in page["items"]:
                c.delete(f"/v1/jobs/{j['id']}")
        while c.get("/v1/jobs", params={"status": "running", "limit": 1}).json()["total"]:
            time.sleep(0.2)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    ap.add_argument("--requests", type=int, default=300, help="submissions per level for the latency figures")
    ap.add_argument("--jobs", type=int, default=30, help="jobs per level for the throughput figures")
    ap.add_argument("--job-time-limit", type=float, default=0.5, help="time limit of each throughput job (s)")
    ap.add_argument("--time-limit", type=float, default=600, help="overall bound on each wait (s)")
    ap.add_argument("--workers", type=int, default=2, help="SALESPLAN_WORKERS of the server")
    ap.add_argument("--database-url", default=None, help="store URL (default: a fresh SQLite file)")
    ap.add_argument("--no-write", action="store_true", help="print only; do not touch RESULTS.md")
    args = ap.parse_args(argv)

    load_before = os.getloadavg()[0]
    tmp = Path(tempfile.mkdtemp(prefix="salesplan-load-"))
    db_url = args.database_url or f"sqlite:///{tmp / 'jobs.db'}"
    store_name = "PostgreSQL" if db_url.startswith("postgres") else "SQLite"
    proc, base = start_server(db_url, args.workers, tmp / "server.log")
    rows: list[list[object]] = []
    try:
        for level in args.concurrency:
            lat, _, wall = submit_many(base, level, args.requests, 0.5, seed0=level * 100_000)
            cancel_queued(base)
            _, ids, sub_wall = submit_many(base, level, args.jobs, args.job_time_limit, seed0=level * 100_000 + 50_000)
            t_final, statuses = wait_final(base, ids, args.time_limit)
            p50, p99 = pct(lat, 0.50) * 1000, pct(lat, 0.99) * 1000
            rows.append([level, args.requests, round(p50, 1), round(p99, 1), round(max(lat) * 1000, 1),
                         round(args.requests / wall, 1), args.jobs, round(args.jobs / (sub_wall + t_final), 2),
                         ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())),
                         "yes" if p99 < TARGET_P99_MS else "no"])
            print(f"c={level}: p50 {p50:.1f} ms, p99 {p99:.1f} ms, {args.requests / wall:.0f} submits/s, "
                  f"{args.jobs / (sub_wall + t_final):.2f} jobs/s ({statuses})", flush=True)
    finally:
        stop_server(proc)
    headers = ["clients", "submits", "p50 ms", "p99 ms", "max ms", "submits/s", "jobs", "jobs/s", "outcomes",
               f"p99 < {TARGET_P99_MS:.0f} ms"]
    md = table(headers, rows)
    # closed loop: each client waits for its answer before the next submit, so by Little's law the mean
    # latency is clients / throughput; a p99 under the target needs at least clients / target submits/s
    last = rows[-1]
    need = float(last[0]) / (TARGET_P99_MS / 1000)  # type: ignore[arg-type]
    analysis = (
        f"Reading: the clients run closed-loop, so mean latency = clients / throughput (Little's law). At "
        f"{last[0]} clients a p99 under {TARGET_P99_MS:.0f} ms needs more than {need:.0f} submits/s; this server "
        f"answered {last[5]} submits/s, so the latency at that level is queueing for the CPU, not per-request work "
        f"(p50 at 1 client: {rows[0][2]} ms, which includes validating the problem)."
    )
    print(analysis)
    print(md)
    if not args.no_write:
        cmd = "python benchmarks/api_load.py " + " ".join(argv if argv is not None else sys.argv[1:])
        text = (
            "## Jobs API load (benchmarks/api_load.py)\n\n"
            f"`{cmd.strip()}` on {machine()} (niceness {os.nice(0)}, load average before the run "
            f"{load_before:.1f}).\n\n"
            f"A real server (`python -m api.main`, {store_name} store, local process pool of {args.workers} "
            f"workers) on 127.0.0.1. *Submits*: {args.requests} `POST /v1/jobs` of a 5-outlet routes problem per "
            "level (validated on submission) while the dispatcher runs; latency measured by the client "
            "(threads with keep-alive `http.client` connections, on the same machine). "
            f"*Jobs/s*: {args.jobs} jobs of {args.job_time_limit} s time limit each, from the first submission until "
            "all are final (spawned workers, routes solver, result written to the store). "
            f"Target: p99 submit < {TARGET_P99_MS:.0f} ms with SQLite at 32 clients. The machine's 2 cores are "
            "shared with other work, so the figures are noisy.\n\n" + md + "\n\n" + analysis
        )
        write_section("api-load", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
