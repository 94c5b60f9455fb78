"""Where imported files come from: a folder, a zip, uploads, or a CSV of URLs.

Each source is ``(count, iterator of ImportItem)``: the count drives progress, the iterator
reads one file at a time so memory stays bounded whatever the size of the import.
"""

from __future__ import annotations

import csv
import io
import re
import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from django.conf import settings

from annotation.errors import ServiceError
from annotation.services.downloads import DownloadPolicy, downloads_iter

# A zip member that inflates more than this (and past 1 MiB) is treated as a bomb unread:
# real photos barely compress, and deflate's own ceiling is about 1032x.
ZIP_MAX_RATIO = 200
# Dot files, dot folders and OS litter are skipped silently (not reported).
# ("." and ".." are not dot files: a ".." path must reach the zip-slip check and be reported.)
SKIPPED_NAMES = re.compile(r"(^|/)(\.(?!\.?(?:/|$))[^/]*|__MACOSX|Thumbs\.db|desktop\.ini)(/|$)", re.IGNORECASE)


@dataclass(frozen=True)
class ImportItem:
    """One file to import: its bytes, or an ``error`` found before they could be read."""

    source: str
    keyword: str = ""
    data: bytes | None = None
    error: str = ""


def folder_items(root: Path, *, keyword: str = "") -> tuple[int, Iterator[ImportItem]]:
    """Every file under ``root`` (recursively, sorted; dot files and dot folders skipped)."""
    files = sorted(
        path
        for path in root.rglob("*")
        if not SKIPPED_NAMES.search(path.relative_to(root).as_posix()) and path.is_file()
    )

    def items() -> Iterator[ImportItem]:
        max_bytes = settings.RAF_MAX_IMAGE_BYTES
        for path in files:
            size = path.stat().st_size
            if size > max_bytes:
                reason = f"file is {size:,} bytes, over the cap of {max_bytes:,} bytes"
                yield ImportItem(str(path), keyword, error=reason)
                continue
            try:
                yield ImportItem(str(path), keyword, data=path.read_bytes())
            except OSError as exc:
                yield ImportItem(str(path), keyword, error=f"could not be read ({exc.strerror or exc})")

    return len(files), items()


def zip_items(fileobj: IO[bytes], *, name: str, keyword: str = "") -> tuple[int, Iterator[ImportItem]]:
    """The members of a zip, read one at a time with a bounded read; nothing is extracted to disk.

    Members with absolute or ``..`` paths (zip slip), links, encryption, a declared or actual
    size over the byte cap, or a bomb-like compression ratio are rejected with a reason.
    """
    try:
        archive = zipfile.ZipFile(fileobj)
        members = [info for info in archive.infolist() if not info.is_dir() and not SKIPPED_NAMES.search(info.filename)]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        raise ServiceError(f"{name} is not a readable zip archive ({exc})", code="bad_archive") from exc

    def items() -> Iterator[ImportItem]:
        max_bytes = settings.RAF_MAX_IMAGE_BYTES
        with archive:
            for info in members:
                source = f"{name}:{info.filename}"
                problem = _zip_member_problem(info, max_bytes)
                if problem:
                    yield ImportItem(source, keyword, error=problem)
                    continue
                try:
                    with archive.open(info) as member:
                        data = member.read(max_bytes + 1)
                except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as exc:
                    yield ImportItem(source, keyword, error=f"corrupt zip member ({exc})")
                    continue
                if len(data) > max_bytes:
                    yield ImportItem(source, keyword, error=f"inflates past the cap of {max_bytes:,} bytes")
                    continue
                yield ImportItem(source, keyword, data=data)

    return len(members), items()


def _zip_member_problem(info: zipfile.ZipInfo, max_bytes: int) -> str:
    name = info.filename
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return "unsafe path in zip (absolute path)"
    if ".." in parts:
        return "unsafe path in zip (escapes the archive with ..)"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "symbolic link in zip"
    if info.flag_bits & 0x1:
        return "encrypted zip member"
    if info.file_size > max_bytes:
        return f"file is {info.file_size:,} bytes, over the cap of {max_bytes:,} bytes"
    if info.file_size > 1024 * 1024 and info.file_size > ZIP_MAX_RATIO * max(info.compress_size, 1):
        return f"compression ratio over {ZIP_MAX_RATIO}:1 (zip bomb?)"
    return ""


def url_rows_parse(text: str, *, keyword: str = "") -> list[tuple[str, str]]:
    """``url,keyword`` rows (header optional, keyword optional, ``#`` comments and blanks skipped)."""
    rows: list[tuple[str, str]] = []
    for row in csv.reader(io.StringIO(text)):
        if not row or not row[0].strip() or row[0].lstrip().startswith("#"):
            continue
        url = row[0].strip()
        if not rows and url.lower() == "url":
            continue
        row_keyword = row[1].strip() if len(row) > 1 and row[1].strip() else keyword
        rows.append((url, row_keyword))
    return rows


def url_items(rows: list[tuple[str, str]]) -> tuple[int, Iterator[ImportItem]]:
    """Download ``(url, keyword)`` rows with bounded concurrency (``RAF_DOWNLOAD_*`` settings)."""
    policy = DownloadPolicy(
        timeout_s=float(settings.RAF_DOWNLOAD_TIMEOUT_S),
        retries=int(settings.RAF_DOWNLOAD_RETRIES),
        backoff_s=float(getattr(settings, "RAF_DOWNLOAD_BACKOFF_S", 0.5)),
        max_bytes=int(settings.RAF_MAX_IMAGE_BYTES),
        allow_private=bool(getattr(settings, "RAF_DOWNLOAD_ALLOW_PRIVATE", False)),
    )

    def items() -> Iterator[ImportItem]:
        keyed = ((index, url) for index, (url, _) in enumerate(rows))
        for index, result in downloads_iter(keyed, policy=policy, concurrency=settings.RAF_DOWNLOAD_CONCURRENCY):
            url, row_keyword = rows[index]
            if result.data is None:
                yield ImportItem(url, row_keyword, error=f"download failed: {result.error}")
            else:
                yield ImportItem(url, row_keyword, data=result.data)

    return len(rows), items()


def upload_items(handle: IO[bytes], *, filename: str, keyword: str) -> tuple[int, Iterator[ImportItem]]:
    """One uploaded file: a zip (by name or content) or a single image."""
    if filename.lower().endswith(".zip") or zipfile.is_zipfile(handle):
        handle.seek(0)
        return zip_items(handle, name=filename, keyword=keyword)
    handle.seek(0)
    max_bytes = settings.RAF_MAX_IMAGE_BYTES
    data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        return 1, iter([ImportItem(filename, keyword, error=f"over the cap of {max_bytes:,} bytes")])
    return 1, iter([ImportItem(filename, keyword, data=data)])
