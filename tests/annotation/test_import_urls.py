"""URL import against a local HTTP server: bounded concurrency, timeouts, retries, 404, size cap."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from django.core.management import call_command

from annotation.models import Image, Job, JobStatus, Project
from annotation.services.downloads import DownloadPolicy, download, downloads_iter
from tests.annotation.photo_server import CAP, PhotoServer, serve


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[PhotoServer]:
    yield from serve(monkeypatch)


POLICY = DownloadPolicy(timeout_s=0.4, retries=2, backoff_s=0.01, max_bytes=CAP, allow_private=True)


def test_it_retries_a_flaky_server_with_backoff(server: PhotoServer) -> None:
    result = download(f"{server.base}/flaky.jpg", policy=POLICY)
    assert result.data is not None and result.attempts == 3 and server.hits["/flaky.jpg"] == 3


def test_it_follows_redirects(server: PhotoServer) -> None:
    result = download(f"{server.base}/redirect.jpg", policy=POLICY)
    assert result.data is not None and server.hits["/img/3.jpg"] == 1


def test_it_refuses_private_addresses_unless_allowed(server: PhotoServer) -> None:
    result = download(f"{server.base}/img/1.jpg", policy=replace(POLICY, allow_private=False))
    assert result.data is None and "non-public address (127.0.0.1)" in result.error
    assert server.hits["/img/1.jpg"] == 0


def test_it_refuses_a_name_that_rebinds_to_a_private_address(server: PhotoServer, monkeypatch) -> None:
    # The pre-connection check is told a public address (as a rebinding name would answer it),
    # the connection still reaches 127.0.0.1: the socket's peer is checked before the request.
    import socket

    from annotation.services import downloads

    monkeypatch.setattr(
        downloads, "_resolve", lambda host, port: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 0))]
    )
    result = download(f"{server.base}/img/1.jpg", policy=replace(POLICY, allow_private=False, retries=2))
    assert result.data is None and result.attempts == 1, result
    assert "connected to a non-public address (127.0.0.1)" in result.error
    assert server.hits["/img/1.jpg"] == 0


def test_it_gives_up_after_the_retries(server: PhotoServer) -> None:
    result = download(f"{server.base}/always-503.jpg", policy=POLICY)
    assert result.data is None and "HTTP 503" in result.error and "after 3 attempts" in result.error


def test_it_does_not_retry_a_404(server: PhotoServer) -> None:
    result = download(f"{server.base}/missing.jpg", policy=POLICY)
    assert result.error == "HTTP 404" and server.hits["/missing.jpg"] == 1


def test_it_times_out_a_slow_server(server: PhotoServer) -> None:
    started = time.monotonic()
    result = download(f"{server.base}/slow.jpg", policy=replace(POLICY, timeout_s=0.2, retries=1))
    assert result.data is None and "timed out" in result.error and result.attempts == 2
    assert time.monotonic() - started < 1.5


@pytest.mark.parametrize("path", ["/huge-declared.jpg", "/huge-streamed.jpg"])
def test_it_caps_the_size_while_streaming(server: PhotoServer, path: str) -> None:
    result = download(f"{server.base}{path}", policy=POLICY)
    assert result.data is None and "cap" in result.error and server.hits[path] == 1


def test_it_keeps_concurrency_bounded(server: PhotoServer) -> None:
    urls = [(i, f"{server.base}/img/{i}-slowish.jpg") for i in range(12)]

    results = dict(downloads_iter(urls, policy=POLICY, concurrency=3))

    assert sorted(results) == list(range(12)) and all(r.data for r in results.values())
    assert 2 <= server.max_in_flight <= 3


@pytest.mark.django_db
def test_it_imports_a_csv_of_urls_and_reports_each_row(server: PhotoServer, tmp_path: Path, settings) -> None:
    settings.RAF_DOWNLOAD_TIMEOUT_S = 0.3
    settings.RAF_DOWNLOAD_RETRIES = 2
    settings.RAF_DOWNLOAD_BACKOFF_S = 0.01
    settings.RAF_DOWNLOAD_CONCURRENCY = 4
    settings.RAF_MAX_IMAGE_BYTES = CAP
    settings.RAF_DOWNLOAD_ALLOW_PRIVATE = True  # the test server is on loopback
    project = Project.objects.create(name="URL project")
    base = server.base
    csv_file = tmp_path / "urls.csv"
    csv_file.write_text(
        "url,keyword\n"
        f"{base}/img/1.jpg,smiling man\n"
        f"{base}/img/2.jpg\n"
        f"{base}/img/1.jpg,same photo again\n"
        f"{base}/flaky.jpg,flaky\n"
        f"{base}/missing.jpg,gone\n"
        f"{base}/slow.jpg,slow\n"
        f"{base}/huge-streamed.jpg,huge\n"
        f"{base}/text.jpg,html\n"
        "ftp://example.invalid/x.jpg,ftp\n"
        "\n# a comment line\n"
    )
    out = io.StringIO()

    call_command("import_images", str(csv_file), "--project", str(project.pk), "--keyword", "crawl", stdout=out)

    job = Job.objects.get(kind="import")
    assert job.status == JobStatus.SUCCEEDED
    rows = {row["source"].rsplit("/", 1)[-1]: row for row in job.result["files"]}
    assert job.result["total"] == 9
    assert (job.result["imported"], job.result["duplicate"], job.result["rejected"]) == (3, 1, 5)
    assert rows["flaky.jpg"]["status"] == "imported"
    assert rows["missing.jpg"]["reason"] == "download failed: HTTP 404"
    assert "timed out" in rows["slow.jpg"]["reason"]
    assert "cap" in rows["huge-streamed.jpg"]["reason"]
    assert "not an image" in rows["text.jpg"]["reason"]
    assert "not an http(s) URL" in rows["x.jpg"]["reason"]
    keywords = dict(Image.objects.values_list("source", "keyword"))
    assert keywords[f"{base}/img/2.jpg"] == "crawl" and keywords[f"{base}/flaky.jpg"] == "flaky"
    assert "download failed: HTTP 404" in out.getvalue()
