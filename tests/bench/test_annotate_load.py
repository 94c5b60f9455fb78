"""bench/annotate_load.py runs end to end on Postgres (a small load): the web server (granian)
with the real WSGI entry point, the annotators over HTTP, the audit, and the keys its issue names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlparse

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_the_load_benchmark_audits_a_small_run_clean():
    # A database of its own for this run (other checkouts on the same server may migrate theirs).
    name = f"raf_bench_smoke_{uuid.uuid4().hex[:8]}"
    url = urlparse(os.environ["DATABASE_URL"])._replace(path=f"/{name}").geturl()
    command = [
        sys.executable, "bench/annotate_load.py", "--annotators", "6", "--seconds", "2", "--warmup", "0.5",
        "--ramp", "0.2", "--images", "400", "--rate", "60", "--workers", "2", "--threads", "2",
        "--database-url", url,
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    try:
        done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    finally:
        import psycopg

        admin = urlparse(os.environ["DATABASE_URL"])._replace(path="/postgres").geturl()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    for key in ("votes_per_s", "p50_ms", "p99_ms", "sent", "acked", "stored", "lost", "duplicates", "over_wanted"):
        assert key in result, key
    assert result["acked"] > 20 and result["errors"] == {}, result
    assert result["sent"] == result["acked"] == result["stored"]
    assert result["lost"] == result["duplicates"] == result["over_wanted"] == result["counter_mismatch"] == 0
    assert result["votes_per_s"] > 0 and result["p99_ms"] >= result["p50_ms"] > 0
