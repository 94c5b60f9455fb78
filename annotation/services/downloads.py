"""Bounded, retrying HTTP downloads for URL imports (``requests``, no database access).

Each download is streamed with a byte cap (a ``Content-Length`` over the cap is refused before
the body is read, and a body that grows past it is cut off), a connect/read timeout plus an
overall deadline per attempt, and retries with exponential backoff on timeouts, connection
errors and the HTTP statuses that mean "try again" (408, 425, 429, 5xx). Other 4xx statuses
fail at once. Unless the policy allows private addresses, every hop (redirects included) must
resolve to public addresses only, and every connection is checked again on the address its
socket actually reached, before a byte of the request is sent: a name that answers a public
address to the check and a private one to the connection (DNS rebinding) is refused too. (An
HTTP proxy from the environment is such a connection: with private addresses refused, a proxy
on a private address refuses every download.) :func:`downloads_iter` runs them on a thread
pool with at most ``concurrency`` requests in flight and a bounded window of finished bodies
waiting to be consumed.
"""

from __future__ import annotations

import ipaddress
import random
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
CHUNK_BYTES = 64 * 1024
MAX_REDIRECTS = 5
USER_AGENT = "RAF-importer/1.0 (research image import)"


@dataclass(frozen=True)
class DownloadPolicy:
    timeout_s: float = 20.0
    retries: int = 3
    backoff_s: float = 0.5
    max_bytes: int = 20 * 1024 * 1024
    allow_private: bool = False


@dataclass(frozen=True)
class DownloadResult:
    url: str
    data: bytes | None
    error: str = ""
    attempts: int = 1


class _PermanentFailure(Exception):
    pass


class _RetryableFailure(Exception):
    pass


class NonPublicPeer(Exception):
    """A connection reached a non-public address (not an OSError: urllib3 lets it through)."""


def _is_public(address: str) -> bool:
    return ipaddress.ip_address(address.split("%")[0]).is_global


class _PublicPeerMixin:
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()  # the connection class's socket, connected
        address = sock.getpeername()[0]
        if not _is_public(address):
            sock.close()
            host = getattr(self, "host", "?")
            raise NonPublicPeer(f"refused: {host} connected to a non-public address ({address})")
        return sock


class _PublicHTTPConnection(_PublicPeerMixin, HTTPConnection):
    pass


class _PublicHTTPSConnection(_PublicPeerMixin, HTTPSConnection):
    pass


class _PublicHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _PublicHTTPConnection


class _PublicHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _PublicHTTPSConnection


class _PublicOnlyAdapter(HTTPAdapter):
    """Connections only to public addresses, checked on each new socket's peer."""

    def init_poolmanager(self, *args: object, **kwargs: object) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _PublicHTTPConnectionPool,
            "https": _PublicHTTPSConnectionPool,
        }


_local = threading.local()


def _session(*, allow_private: bool) -> requests.Session:
    # requests.Session is not documented as thread-safe: one per worker thread (and policy).
    name = "session_any" if allow_private else "session_public"
    session = getattr(_local, name, None)
    if session is None:
        session = requests.Session()
        session.headers["User-Agent"] = USER_AGENT
        if not allow_private:
            session.mount("http://", _PublicOnlyAdapter())
            session.mount("https://", _PublicOnlyAdapter())
        setattr(_local, name, session)
    return session


def download(url: str, *, policy: DownloadPolicy) -> DownloadResult:
    """Fetch ``url`` under ``policy``; never raises for network or HTTP problems."""
    if not url.lower().startswith(("http://", "https://")):
        return DownloadResult(url=url, data=None, error="not an http(s) URL", attempts=0)
    attempts = 0
    last_error = ""
    while attempts <= policy.retries:
        attempts += 1
        try:
            return DownloadResult(url=url, data=_fetch_once(url, policy), attempts=attempts)
        except _PermanentFailure as exc:
            return DownloadResult(url=url, data=None, error=str(exc), attempts=attempts)
        except _RetryableFailure as exc:
            last_error = str(exc)
        if attempts <= policy.retries:
            # Exponential backoff with jitter, so many failing downloads do not retry in step.
            time.sleep(policy.backoff_s * (2 ** (attempts - 1)) * (0.5 + random.random()))
    return DownloadResult(url=url, data=None, error=f"{last_error} (after {attempts} attempts)", attempts=attempts)


def _fetch_once(url: str, policy: DownloadPolicy) -> bytes:
    deadline = time.monotonic() + policy.timeout_s
    try:
        # Redirects are followed by hand so that every hop passes the address check.
        for _ in range(MAX_REDIRECTS + 1):
            if not policy.allow_private:
                _refuse_private_host(url)  # a clear refusal before connecting; the socket is checked too
            session = _session(allow_private=policy.allow_private)
            with session.get(url, stream=True, timeout=policy.timeout_s, allow_redirects=False) as response:
                if response.is_redirect and response.headers.get("Location"):
                    url = urljoin(url, response.headers["Location"])
                    continue
                return _read_body(response, policy, deadline)
        raise _PermanentFailure(f"more than {MAX_REDIRECTS} redirects")
    except NonPublicPeer as exc:
        raise _PermanentFailure(str(exc)) from exc
    except (requests.Timeout, requests.ConnectionError) as exc:
        kind = "timed out" if isinstance(exc, requests.Timeout) else "connection failed"
        raise _RetryableFailure(f"{kind} ({type(exc).__name__})") from exc
    except requests.RequestException as exc:
        raise _PermanentFailure(f"request failed ({type(exc).__name__}: {exc})") from exc


def _read_body(response: requests.Response, policy: DownloadPolicy, deadline: float) -> bytes:
    if response.status_code in RETRY_STATUSES:
        raise _RetryableFailure(f"HTTP {response.status_code}")
    if response.status_code >= 400:
        raise _PermanentFailure(f"HTTP {response.status_code}")
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > policy.max_bytes:
        raise _PermanentFailure(f"Content-Length {int(declared):,} is over the {policy.max_bytes:,}-byte cap")
    body = bytearray()
    for chunk in response.iter_content(CHUNK_BYTES):
        body.extend(chunk)
        if len(body) > policy.max_bytes:
            raise _PermanentFailure(f"body is over the cap of {policy.max_bytes:,} bytes")
        if time.monotonic() > deadline:
            raise _RetryableFailure(f"timed out after {policy.timeout_s:g} s")
    return bytes(body)


def _refuse_private_host(url: str) -> None:
    """Refuse hosts that resolve to loopback, private, link-local (cloud metadata) or other
    non-public addresses, so an import cannot be pointed at the platform's own network."""
    host = urlsplit(url).hostname
    if not host:
        raise _PermanentFailure("URL has no host")
    try:
        addresses = {info[4][0] for info in _resolve(host, None)}
    except socket.gaierror as exc:
        raise _RetryableFailure(f"could not resolve {host} ({exc.strerror})") from exc
    for address in addresses:
        if not _is_public(address):
            raise _PermanentFailure(f"refused: {host} resolves to a non-public address ({address})")


_resolve = socket.getaddrinfo  # the pre-connection check's resolver (tests answer it differently)


def downloads_iter(
    urls: Iterable[tuple[int, str]], *, policy: DownloadPolicy, concurrency: int
) -> Iterator[tuple[int, DownloadResult]]:
    """Download ``(key, url)`` pairs with at most ``concurrency`` in flight; yield ``(key, result)``
    as they finish (not in input order). At most ``2 * concurrency`` bodies are held at once."""
    concurrency = max(1, int(concurrency))
    pending: dict[Future[DownloadResult], int] = {}
    source = iter(urls)
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="raf-download") as pool:
        try:
            exhausted = False
            while True:
                while not exhausted and len(pending) < 2 * concurrency:
                    try:
                        key, url = next(source)
                    except StopIteration:
                        exhausted = True
                        break
                    pending[pool.submit(download, url, policy=policy)] = key
                if not pending:
                    return
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield pending.pop(future), future.result()
        finally:
            # A consumer that stops early (a cancelled job) does not wait for queued downloads.
            for future in pending:
                future.cancel()
