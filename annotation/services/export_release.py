"""What makes an export a versioned release: a checksum per file, a content hash, pseudonyms
that are the same in every export of one run, and the change list against an earlier run.

The content hash is the sha256 of ``checksums.sha256`` (``<sha256>  <path>`` per file, the
format ``sha256sum -c`` reads, in the export's own order). It covers every file's bytes and name and nothing
else, so two exports of the same run have the same hash whether they are a folder or a zip and
whenever they were made.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import tempfile
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from django.conf import settings

from annotation.models import Project, ReliabilityRun
from annotation.selectors.run_changes import run_changes

if TYPE_CHECKING:
    from annotation.services.export_writer import ExportSink

CHECKSUMS = "checksums.sha256"
CHANGES = "changes.csv"


class _HashingText:
    """A text file that hashes what it is given (UTF-8, as the sinks write it)."""

    def __init__(self, inner: IO[str], digest: Any) -> None:
        self._inner = inner
        self._digest = digest

    def write(self, text: str) -> int:
        self._digest.update(text.encode("utf-8"))
        return self._inner.write(text)


class ChecksumSink:
    """Wraps a sink; records each file's sha256 as it goes through, and on :meth:`close` writes
    ``checksums.sha256`` and sets :attr:`content_hash`.

    The checksum lines go to a temporary file as files are written (an export has ~100,000
    files; their digests are not kept in memory), in the order the export writes them, which
    is the same for every export of a run; text files, whose digest is known when they are
    complete, come last in the order they were opened."""

    def __init__(self, inner: ExportSink) -> None:
        self._inner = inner
        self._lines = tempfile.NamedTemporaryFile(prefix="raf-checksums-", suffix=".sha256")  # noqa: SIM115
        self._content = hashlib.sha256()
        self._texts: dict[str, Any] = {}
        self.content_hash = ""

    def _record(self, name: str, hexdigest: str) -> None:
        line = f"{hexdigest}  {name}\n".encode()
        self._lines.write(line)
        self._content.update(line)

    def write_bytes(self, name: str, data: bytes, *, compress: bool) -> None:
        self._record(name, hashlib.sha256(data).hexdigest())
        self._inner.write_bytes(name, data, compress=compress)

    def write_file(self, name: str, path: Path, *, compress: bool) -> None:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
        self._record(name, digest.hexdigest())
        self._inner.write_file(name, path, compress=compress)

    def open_text(self, name: str) -> IO[str]:
        digest = self._texts[name] = hashlib.sha256()
        return _HashingText(self._inner.open_text(name), digest)  # type: ignore[return-value]

    def sha256(self, name: str) -> str:
        """The checksum of a text file written so far (of what it holds so far)."""
        return str(self._texts[name].hexdigest())

    def close(self) -> None:
        """Write ``checksums.sha256`` and close the wrapped sink; :attr:`content_hash` is then set."""
        for name, digest in self._texts.items():
            self._record(name, digest.hexdigest())
        self._lines.flush()
        self._inner.write_file(CHECKSUMS, Path(self._lines.name), compress=True)
        self._lines.close()
        self._inner.close()
        self.content_hash = self._content.hexdigest()


def release_salt(*, project: Project, run: ReliabilityRun | None) -> bytes:
    """The pseudonym salt of a release: derived from ``SECRET_KEY`` and the run, so that every
    export of one run names each annotator alike (and hashes alike), while another run or
    project gives unlinkable pseudonyms. Nothing is stored; without ``SECRET_KEY`` the
    pseudonyms cannot be traced back to user ids."""
    message = f"raf.exports.pseudonyms:{project.pk}:{run.pk if run is not None else 'reference'}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).digest()


def write_changes(*, sink: ExportSink, classes: list[str], base: ReliabilityRun, run: ReliabilityRun) -> dict[str, int]:
    """``changes.csv``: one row per image that differs between ``base`` and ``run``; returns the
    count per kind of change."""
    counts = {"added": 0, "removed": 0, "relabelled": 0, "moved": 0}
    handle = sink.open_text(CHANGES)
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(
        [
            "image_id",
            "change",
            "old_label",
            "new_label",
            "old_subset",
            "new_subset",
            "old_subset_label",
            "new_subset_label",
            "old_split",
            "new_split",
        ]
    )

    def name(label: int) -> str:
        return classes[label] if 0 <= label < len(classes) else str(label)

    for change in run_changes(base=base, run=run):
        old, new = change.old, change.new
        writer.writerow(
            [
                change.image_id,
                change.change,
                name(old.label) if old else "",
                name(new.label) if new else "",
                old.subset if old else "",
                new.subset if new else "",
                old.subset_label if old else "",
                new.subset_label if new else "",
                old.split if old else "",
                new.split if new else "",
            ]
        )
        counts[change.change] += 1
    return counts
