"""bench/live_update.py runs end to end on Postgres (a small crowd): seeding, the cold and warm
updates of the platform's service, and the figures it names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlparse

import psycopg

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_the_live_update_benchmark_times_a_small_crowd():
    # A database of its own for this run (other checkouts on the same server may migrate theirs).
    name = f"raf_bench_live_{uuid.uuid4().hex[:8]}"
    admin = urlparse(os.environ["DATABASE_URL"])._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    command = [
        sys.executable, "bench/live_update.py", "--images", "300", "--annotators", "30", "--votes-per-image", "20",
        "--new-votes", "150", "--active", "10", "--repeats", "2",
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["DATABASE_URL"] = urlparse(os.environ["DATABASE_URL"])._replace(path=f"/{name}").geturl()
    try:
        done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(result["warm_process_cpu_s"]) == 2 and result["database"] == "postgresql"
    for run in (result["cold"], result["warm_median"]):
        for key in ("read_cpu_s", "em_cpu_s", "spammer_cpu_s", "stopping_cpu_s", "write_cpu_s", "postgres_cpu_s"):
            assert key in run, key
        assert run["process_cpu_s"] > 0 and run["counted_votes"] > 0
    assert result["cold"]["new_votes"] == int(0.9 * 300 * 20)
    assert 0 < result["warm_median"]["new_votes"] <= 150
