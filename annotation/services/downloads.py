"""Bounded, retrying HTTP downloads for URL imports (``requests``, no database access).

Each download is streamed with a byte cap (a ``Content-Length`` over the cap is refused before
the body is read, and a body that grows past it is cut off), a connect/read timeout plus an
overall deadline per attempt, and retries with exponential backoff on timeouts, connection
errors and the HTTP statuses that mean "try again" (408, 425, 429, 5xx). Other 4xx statuses
fail at once. Unless the policy allows private addresses, every hop (redirects included) must
resolve to public addresses only. :func:`downloads_iter` runs them on a thread pool with at most ``concurrency``
requests in flight and a bounded window of finished bodies waiting to be consumed.
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


_local = threading.local()


def _session() -> requests.Session:
    # requests.Session is not documented as thread-safe: one per worker thread.
    session = getattr(_local, "session", None)
    if session is None:
        session = requests.Session()
        session.headers["User-Agent"] = USER_AGENT
        _local.session = session
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
                _refuse_private_host(url)
            with _session().get(url, stream=True, timeout=policy.timeout_s, allow_redirects=False) as response:
                if response.is_redirect and response.headers.get("Location"):
                    url = urljoin(url, response.headers["Location"])
                    continue
                return _read_body(response, policy, deadline)
        raise _PermanentFailure(f"more than {MAX_REDIRECTS} redirects")
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
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except socket.gaierror as exc:
        raise _RetryableFailure(f"could not resolve {host} ({exc.strerror})") from exc
    for address in addresses:
        if not ipaddress.ip_address(address.split("%")[0]).is_global:
            raise _PermanentFailure(f"refused: {host} resolves to a non-public address ({address})")


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
