"""Load benchmark of the annotation hot path: claim, vote (+ next), over HTTP, on Postgres.

Starts the web server (granian, as in production) against ``DATABASE_URL`` (default ``postgres://postgres@127.0.0.1:5432/raf_bench``;
the database is created and migrated, and its annotation tables are emptied: use a database
of its own), seeds a project of ``--images`` images with bulk ``COPY`` (rows only, no files)
and ``--annotators`` qualified annotators with API tokens, then runs one thread per
annotator for ``--seconds``: claim, then vote with ``next=1`` again and again, each on its own
keep-alive connection. Annotators pace themselves so that together they offer ``--rate``
votes/s (default 420: the 400/s target with a little headroom; 0: as fast as the server
answers, a closed loop where latency is annotators / throughput by Little's law).

Annotators arrive spread over ``--ramp`` seconds (default 1: people do not all open the page
in the same millisecond), and the first ``--warmup`` seconds (default 2: the arrivals' first
claims, each web thread's first database connection and statement preparations) are left out
of the headline rate and latencies, which are those of the ``--seconds`` that follow (steady
state). The whole run, warm-up included, is reported too (``*_all`` keys), and every vote of
the run is in the audit.

Prints acknowledged votes/s, p50/p99 latency of the vote requests and an audit of the
database afterwards: sent, acknowledged, stored, duplicates, over-wanted, lost. With
``--claim-sizes 30000,300000`` it also times single claims on fresh projects of those sizes.
The last line is one JSON object.

    python bench/annotate_load.py --annotators 64 --seconds 20 [--images 30000] [--rate 400]
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/raf_bench"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--annotators", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds, after the warm-up")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds run before the measured ones")
    parser.add_argument("--ramp", type=float, default=1.0, help="annotators arrive spread over this many seconds")
    parser.add_argument("--images", type=int, default=30_000)
    parser.add_argument(
        "--rate", type=float, default=420.0, help="Offered votes/s in total (target 400 + 5%%); 0 = unpaced."
    )
    parser.add_argument("--votes-wanted", type=int, default=40)
    parser.add_argument("--gold-rate", type=float, default=0.05)
    parser.add_argument("--workers", type=int, default=3, help="web server worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker that run the application")
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument("--claim-sizes", default="", help="e.g. 30000,300000: time claims on projects this big")
    parser.add_argument("--claims", type=int, default=300, help="claims timed per size")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
    return parser.parse_args()


# ----------------------------------------------------------------------------- database set-up


def ensure_database(url: str) -> None:
    import psycopg

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def django_env(url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": url,
            "DEBUG": "false",
            "LOG_LEVEL": "WARNING",
            "DB_CONN_MAX_AGE": "600",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            # Simulated annotators vote the instant they are served, faster than any person:
            # no minimum time between claim and vote, and per-user limits that never bite but
            # still run (their Redis round trip is part of what is measured).
            "RAF_MIN_VOTE_MS": "0",
            "RAF_VOTE_RATE": "1000000/min",
            "RAF_CLAIM_RATE": "1000000/min",
        }
    )
    # The cache (qualification checks, the annotator's last project, the remaining count) is
    # Redis, as in production: REDIS_URL, or the embedded one when it is unset.
    return env


def setup_django(url: str) -> None:
    os.environ.update(django_env(url))
    sys.path.insert(0, str(REPO_ROOT))
    import django

    django.setup()


def empty_tables() -> None:
    from django.db import connection

    name = connection.settings_dict["NAME"]
    if "bench" not in name:
        raise SystemExit(f"refusing to empty database {name!r}: its name must contain 'bench'")
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE annotation_vote, annotation_assignment, annotation_imagereport, annotation_face, "
            "annotation_image, annotation_qualification, annotation_job, annotation_project, "
            "authtoken_token, auth_user_groups, auth_user CASCADE"
        )


def seed_project(*, name: str, images: int, votes_wanted: int, gold_rate: float) -> int:
    """A ready project of ``images`` regular images (+1% gold), written with COPY."""
    from django.db import connection
    from django.utils import timezone

    from annotation.models import Project

    project = Project.objects.create(name=name, votes_wanted=votes_wanted, gold_rate=gold_rate)
    n_gold = max(1, images // 100) if gold_rate > 0 else 0
    now = timezone.now().isoformat()
    columns = (
        "project_id, file, sha256, size_bytes, width, height, source, keyword, status, reject_reason, "
        "votes_wanted, counted_votes, reserved, random_key, is_gold, gold_label, reference_label, "
        "reference_subset, reference_split, created_at"
    )
    rng = random.Random(project.pk)
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY annotation_image ({columns}) FROM STDIN") as copy:
        for i in range(images + n_gold):
            sha = uuid.uuid4().hex * 2
            gold = i >= images
            copy.write_row(
                (project.pk, f"images/{project.pk}/{sha}.jpg", sha, 50_000, 640, 480, f"bench/{i}.jpg", "bench",
                 "ready", "", votes_wanted, 0, 0, rng.random(), gold, rng.randrange(7) if gold else None, None,
                 "", "", now)
            )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE annotation_image")
    return project.pk


def seed_annotators(*, project_ids: list[int], n: int, prefix: str) -> list[str]:
    """``n`` qualified annotators of every project in ``project_ids``; returns their tokens."""
    from django.contrib.auth.models import Group, User
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from annotation.models import Qualification

    users = User.objects.bulk_create(User(username=f"{prefix}{i}", password="!") for i in range(n))
    group = Group.objects.get(name="annotator")
    User.groups.through.objects.bulk_create(User.groups.through(user_id=u.pk, group_id=group.pk) for u in users)
    now = timezone.now()
    Qualification.objects.bulk_create(
        Qualification(annotator=u, project_id=p, tutorial_read_at=now, qualified_at=now)
        for u in users
        for p in project_ids
    )
    tokens = Token.objects.bulk_create(Token(user=u, key=Token.generate_key()) for u in users)
    return [t.key for t in tokens]


# ----------------------------------------------------------------------------- server


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(args: argparse.Namespace) -> subprocess.Popen:
    args.port = args.port or free_port()
    command = [
        str(Path(sys.executable).parent / "granian"), "--interface", "wsgi", "--http", "1", "--no-ws",
        "--host", "127.0.0.1", "--port", str(args.port),
        "--workers", str(args.workers), "--blocking-threads", str(args.threads),
        "--backlog", "512", "--log-level", "warning", "config.wsgi:application",
    ]  # fmt: skip
    server = subprocess.Popen(command, cwd=REPO_ROOT, env=django_env(args.database_url), start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the web server exited with {server.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=2)
            conn.request("GET", "/")
            conn.getresponse().read()
            return server
        except OSError:
            time.sleep(0.3)
    stop_server(server)
    raise SystemExit("the web server did not start")


def stop_server(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)


# ----------------------------------------------------------------------------- load generator


@dataclass
class Tally:
    sent: int = 0
    acked: list[int] = field(default_factory=list)
    # (monotonic time the vote was sent, latency in ms, acknowledged) per vote request answered
    votes: list[tuple[float, float, bool]] = field(default_factory=list)
    claim_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)


class Client:
    """One annotator's keep-alive connection: a minimal HTTP/1.1 client on a plain socket.

    The load generator shares the machine with the server, so its own CPU is taken from the
    server's: ``http.client`` parses every response's headers with the ``email`` package and
    cost about twice the CPU per request of this client (``cpu_ms_per_vote.load_generator``).
    It sends JSON and reads ``Content-Length`` or chunked bodies, nothing more."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.head = (
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:" + str(port) + "\r\nAuthorization: Token " + token + "\r\n"
            "Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
        )
        self.sock: socket.socket | None = None
        self.buffer = b""
        self.sent_at = 0.0  # perf_counter() when the last answered request was sent

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""
        return sock

    def _read_until(self, sock: socket.socket, marker: bytes) -> int:
        while (at := self.buffer.find(marker)) < 0:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionResetError("the server closed the connection")
            self.buffer += chunk
        return at

    def _take(self, sock: socket.socket, n: int) -> bytes:
        while len(self.buffer) < n:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionResetError("the server closed the connection")
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def _response(self, sock: socket.socket) -> tuple[int, bytes, bool]:
        end = self._read_until(sock, b"\r\n\r\n")
        head, self.buffer = self.buffer[:end].decode("latin-1"), self.buffer[end + 4 :]
        lines = head.split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = self._take(sock, int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                at = self._read_until(sock, b"\r\n")
                size = int(self.buffer[:at].split(b";")[0], 16)
                self.buffer = self.buffer[at + 2 :]
                parts.append(self._take(sock, size))
                self._take(sock, 2)
                if size == 0:
                    break
            body = b"".join(parts)
        else:
            body = b""
        return status, body, headers.get("connection", "").lower() == "close"

    def post(self, path: str, body: dict) -> tuple[int, dict, float]:
        data = json.dumps(body).encode()
        request = self.head.format(path=path, length=len(data)).encode() + data
        for attempt in range(2):
            started = time.perf_counter()
            try:
                if self.sock is None:
                    self.sock = self._connect()
                self.sock.sendall(request)
                status, payload, close = self._response(self.sock)
                if close:
                    self.sock.close()
                    self.sock = None
                self.sent_at = started
                return status, json.loads(payload or b"{}"), (time.perf_counter() - started) * 1000
            except ConnectionError:
                # A closed keep-alive connection: reconnect once. Not a vote path retry:
                # the request either reached the server and was answered, or never left.
                if self.sock is not None:
                    self.sock.close()
                self.sock = None
                if attempt:
                    raise
        raise AssertionError("unreachable")


def annotate(
    client: Client,
    project_id: int,
    start_at: float,
    stop_at: float,
    interval: float,
    tally: Tally,
    lock: threading.Lock,
    seed: int,
) -> None:
    rng = random.Random(seed)
    queue: list[dict] = []
    time.sleep(max(0.0, start_at - time.monotonic()))
    next_send = time.monotonic() + rng.random() * interval
    while time.monotonic() < stop_at:
        if not queue:
            status, body, ms = client.post(f"/api/v1/projects/{project_id}/claim", {"count": 1})
            with lock:
                tally.claim_ms.append(ms)
            if status != 200 or not body.get("assignments"):
                with lock:
                    tally.errors[f"claim {status}"] = tally.errors.get(f"claim {status}", 0) + 1
                time.sleep(0.2)
                continue
            queue = body["assignments"]
        if interval:
            delay = next_send - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            next_send = max(next_send + interval, time.monotonic() - interval)
        assignment = queue.pop(0)
        vote = {"label": rng.randrange(7), "time_taken_ms": rng.randrange(800, 4000), "next": 1}
        with lock:
            tally.sent += 1
        try:
            status, body, ms = client.post(f"/api/v1/assignments/{assignment['id']}/vote", vote)
        except OSError as exc:
            with lock:
                tally.errors[type(exc).__name__] = tally.errors.get(type(exc).__name__, 0) + 1
            continue
        with lock:
            tally.votes.append((client.sent_at, ms, status == 201))
            if status == 201:
                tally.acked.append(body["vote"]["id"])
            else:
                key = f"vote {status} {body.get('error', {}).get('code')}"
                tally.errors[key] = tally.errors.get(key, 0) + 1
        if status == 201:
            queue.extend(body["next"])


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of ``pids`` (Linux /proc; 0 for those gone or unreadable)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def server_pids(server: subprocess.Popen) -> list[int]:
    pids = [server.pid]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == server.pid:
                pids.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return pids


def database_pids() -> list[int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return [pid for (pid,) in cursor.fetchall()]


def run_load(args: argparse.Namespace, project_id: int, tokens: list[str]) -> tuple[Tally, float, float]:
    """Runs the annotators for warm-up + measured seconds; returns the tally, the
    perf_counter() time the measured window starts and the run's length in seconds."""
    tally, lock = Tally(), threading.Lock()
    interval = len(tokens) / args.rate if args.rate > 0 else 0.0
    clients = [Client(args.port, token) for token in tokens]
    started, window_start = time.monotonic(), time.perf_counter() + args.warmup
    stop_at = started + args.warmup + args.seconds
    threads = [
        threading.Thread(
            target=annotate,
            args=(c, project_id, started + args.ramp * i / len(clients), stop_at, interval, tally, lock, i),
            daemon=True,
        )
        for i, c in enumerate(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=args.warmup + args.seconds + 60)
    return tally, window_start, time.monotonic() - started


def time_claims(args: argparse.Namespace, project_id: int, tokens: list[str]) -> list[float]:
    """One claim per fresh annotator, one after another (no load): the claim query alone."""
    times = []
    for token in tokens:
        status, body, ms = Client(args.port, token).post(f"/api/v1/projects/{project_id}/claim", {"count": 1})
        if status != 200 or not body.get("assignments"):
            raise SystemExit(f"claim failed: {status} {body}")
        times.append(ms)
    return times


# ----------------------------------------------------------------------------- audit


def audit(project_id: int, acked: list[int]) -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM annotation_vote v JOIN annotation_image i ON i.id = v.image_id "
            "WHERE i.project_id = %s",
            [project_id],
        )
        [stored] = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM (SELECT 1 FROM annotation_vote GROUP BY annotator_id, image_id HAVING count(*) > 1) d"
        )
        [duplicates] = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM annotation_image i WHERE i.project_id = %s AND (i.counted_votes > i.votes_wanted "
            "OR (SELECT count(*) FROM annotation_vote v WHERE v.image_id = i.id AND v.counted) > i.votes_wanted)",
            [project_id],
        )
        [over_wanted] = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM annotation_image i WHERE i.project_id = %s AND i.counted_votes <> "
            "(SELECT count(*) FROM annotation_vote v WHERE v.image_id = i.id AND v.counted)",
            [project_id],
        )
        [counter_mismatch] = cursor.fetchone()
        cursor.execute("CREATE TEMP TABLE acked (id bigint)")
        with cursor.cursor.copy("COPY acked (id) FROM STDIN") as copy:
            for vote_id in acked:
                copy.write_row((vote_id,))
        cursor.execute("SELECT count(*) FROM acked a LEFT JOIN annotation_vote v ON v.id = a.id WHERE v.id IS NULL")
        [lost] = cursor.fetchone()
        cursor.execute("DROP TABLE acked")
    return {
        "stored": stored,
        "duplicates": duplicates,
        "over_wanted": over_wanted,
        "lost": lost,
        "counter_mismatch": counter_mismatch,
    }


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def main() -> None:
    args = parse_args()
    ensure_database(args.database_url)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=REPO_ROOT,
        env=django_env(args.database_url),
        check=True,
    )
    setup_django(args.database_url)
    empty_tables()
    t0 = time.monotonic()
    project_id = seed_project(
        name="bench", images=args.images, votes_wanted=args.votes_wanted, gold_rate=args.gold_rate
    )
    tokens = seed_annotators(project_ids=[project_id], n=args.annotators, prefix="annotator")
    print(f"seeded {args.images} images and {args.annotators} annotators in {time.monotonic() - t0:.1f}s", flush=True)

    server = start_server(args)
    try:
        time.sleep(2)  # let every worker finish starting, so its start-up is not counted
        web_pids = server_pids(server)
        client_cpu, web_cpu = time.process_time(), cpu_seconds(web_pids)
        tally, window_start, elapsed = run_load(args, project_id, tokens)
        window_end = window_start + args.seconds
        measured = [(ms, ok) for sent_at, ms, ok in tally.votes if window_start <= sent_at < window_end]
        measured_ms = [ms for ms, _ in measured]
        all_ms = [ms for _, ms, _ in tally.votes]
        client_cpu, web_cpu = time.process_time() - client_cpu, cpu_seconds(web_pids) - web_cpu
        # Database backends live as long as their (persistent) connections: the web workers'.
        db_cpu = cpu_seconds(database_pids())
        result: dict[str, object] = {
            "command": " ".join(["python bench/annotate_load.py", *sys.argv[1:]]),
            "annotators": args.annotators,
            "images": args.images,
            "seconds": args.seconds,
            "warmup_s": args.warmup,
            "ramp_s": args.ramp,
            "offered_rate": args.rate,
            "workers": args.workers,
            "threads": args.threads,
            # The measured window (steady state).
            "votes_per_s": round(sum(ok for _, ok in measured) / args.seconds, 1),
            "p50_ms": round(percentile(measured_ms, 50), 1),
            "p99_ms": round(percentile(measured_ms, 99), 1),
            "max_ms": round(max(measured_ms, default=float("nan")), 1),
            # The whole run, warm-up included.
            "seconds_all": round(elapsed, 2),
            "votes_per_s_all": round(len(tally.acked) / elapsed, 1),
            "p50_ms_all": round(percentile(all_ms, 50), 1),
            "p99_ms_all": round(percentile(all_ms, 99), 1),
            "claim_p50_ms": round(percentile(tally.claim_ms, 50), 1),
            "sent": tally.sent,
            "acked": len(tally.acked),
            **audit(project_id, tally.acked),
            "errors": tally.errors,
        }
        # CPU spent per acknowledged vote by each side: what a quiet machine's capacity follows.
        n = max(1, len(tally.acked))
        result["cpu_ms_per_vote"] = {
            "web": round(web_cpu * 1000 / n, 2),
            "db": round(db_cpu * 1000 / n, 2),
            "load_generator": round(client_cpu * 1000 / n, 2),
        }
        sizes = [int(s) for s in args.claim_sizes.split(",") if s.strip()]
        for size in sizes:
            sized = seed_project(name=f"claims {size}", images=size, votes_wanted=args.votes_wanted, gold_rate=0.0)
            claim_tokens = seed_annotators(project_ids=[sized], n=args.claims, prefix=f"claimer{size}-")
            times = time_claims(args, sized, claim_tokens)
            label = f"{size // 1000}k" if size % 1000 == 0 else str(size)
            result[f"claim_ms_{label}"] = round(statistics.median(times), 2)
            result[f"claim_p99_ms_{label}"] = round(percentile(times, 99), 2)
    finally:
        stop_server(server)
    buffer = io.StringIO()
    json.dump(result, buffer)
    print(f"acknowledged {result['acked']} of {result['sent']} votes in {result['seconds_all']}s", flush=True)
    print(buffer.getvalue())


if __name__ == "__main__":
    main()
