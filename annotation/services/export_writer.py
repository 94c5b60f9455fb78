"""Streaming writer of a dataset export into a zip or a folder.

Images go straight from storage into the archive (``ZIP_STORED``: JPEG does not compress);
text files are written line by line into spooled temporary files (memory up to 1 MiB each, then
disk) and deflated into the zip at the end, because a zip takes one open member at a time.
Nothing holds more than one chunk of rows in memory.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import secrets
import shutil
import tempfile
import zipfile
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Protocol

import cv2
import numpy as np
from django.core.files.storage import default_storage

from annotation.models import Project, ReliabilityRun
from annotation.models.export import ExportFormat
from annotation.selectors.exports import (
    ExportRow,
    counted_vote_total,
    counted_votes,
    export_annotators,
    export_counts,
    export_rows,
)
from annotation.selectors.run_changes import run_previous
from annotation.services.export_release import ChecksumSink, release_salt, write_changes
from reliability.classes import COMPOUND_BENCHMARK
from training import rafdb_layout as layout
from training.alignment import LandmarkError, align_face

Progress = Callable[[float, str], None]
_SPOOL_BYTES = 1 << 20
_JPEG_MAGIC = b"\xff\xd8\xff"
# Codes written when an attribute is unknown (RAF-DB's "unsure" where it has one).
_UNKNOWN_GENDER, _UNKNOWN_RACE, _UNKNOWN_AGE = 2, 3, 5


class ExportSink(Protocol):
    def write_bytes(self, name: str, data: bytes, *, compress: bool) -> None: ...

    def write_file(self, name: str, path: Path, *, compress: bool) -> None: ...

    def open_text(self, name: str) -> IO[str]: ...

    def close(self) -> None: ...


class ZipSink:
    """Writes into an open binary file object as a zip (ZIP64 when it grows past 4 GiB)."""

    def __init__(self, fileobj: IO[bytes]) -> None:
        self._zip = zipfile.ZipFile(fileobj, "w", allowZip64=True)
        self._spools: list[tuple[str, tempfile.SpooledTemporaryFile[bytes], io.TextIOWrapper]] = []
        self._stamp = datetime.now(UTC).timetuple()[:6]

    def write_bytes(self, name: str, data: bytes, *, compress: bool) -> None:
        info = zipfile.ZipInfo(name, date_time=self._stamp)
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        info.external_attr = 0o644 << 16
        self._zip.writestr(info, data)

    def write_file(self, name: str, path: Path, *, compress: bool) -> None:
        info = zipfile.ZipInfo(name, date_time=self._stamp)
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        info.external_attr = 0o644 << 16
        with path.open("rb") as source, self._zip.open(info, "w", force_zip64=True) as member:
            shutil.copyfileobj(source, member, 1 << 20)

    def open_text(self, name: str) -> IO[str]:
        spool: tempfile.SpooledTemporaryFile[bytes] = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)
        text = io.TextIOWrapper(spool, encoding="utf-8", newline="")  # type: ignore[arg-type]
        self._spools.append((name, spool, text))
        return text

    def close(self) -> None:
        for name, spool, text in self._spools:
            text.flush()
            spool.seek(0)
            info = zipfile.ZipInfo(name, date_time=self._stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            with self._zip.open(info, "w", force_zip64=True) as member:
                shutil.copyfileobj(spool, member, 1 << 20)
            text.close()
        self._spools = []
        self._zip.close()


class FolderSink:
    """Writes the same tree into a folder (the CLI's default)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._open: list[IO[str]] = []

    def _path(self, name: str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def write_bytes(self, name: str, data: bytes, *, compress: bool) -> None:
        self._path(name).write_bytes(data)

    def write_file(self, name: str, path: Path, *, compress: bool) -> None:
        shutil.copyfile(path, self._path(name))

    def open_text(self, name: str) -> IO[str]:
        handle = self._path(name).open("w", encoding="utf-8", newline="")
        self._open.append(handle)
        return handle

    def close(self) -> None:
        for handle in self._open:
            handle.close()
        self._open = []


class Pseudonyms:
    """Annotator ids as HMAC-SHA256 of the user id under a salt, never the user name or e-mail.

    Exports pass :func:`~annotation.services.export_release.release_salt` (the same for every
    export of one run, unlinkable across runs and projects); without one, a random salt that is
    not stored anywhere."""

    def __init__(self, salt: bytes | None = None) -> None:
        self._salt = salt or secrets.token_bytes(32)
        self._cache: dict[int, str] = {}

    def __call__(self, user_id: int) -> str:
        pseudonym = self._cache.get(user_id)
        if pseudonym is None:
            digest = hmac.new(self._salt, str(user_id).encode(), hashlib.sha256).hexdigest()
            pseudonym = self._cache[user_id] = "a" + digest[:15]
        return pseudonym


def write_dataset(
    *,
    project: Project,
    run: ReliabilityRun | None,
    sink: ExportSink,
    progress: Progress | None = None,
    platform_version: str = "",
    include_images: bool = True,
    format: str = "rafdb",
    changes_from: ReliabilityRun | None = None,
) -> dict[str, Any]:
    """Write the whole export of ``project`` (labels from ``run``, or its reference labels when
    ``run`` is None) into ``sink``, in the RAF-DB layout (``format="rafdb"``) or as Hugging Face
    Parquet shards with a dataset card and ``croissant.json`` (``"hf"``); returns a summary
    (counts written, ``content_hash``).

    Both formats add the run's snapshot of votes, the annotators, ``changes.csv`` against
    ``changes_from`` (default: the project's previous succeeded run) and ``checksums.sha256``."""
    report = progress or (lambda fraction, message="": None)
    release = ChecksumSink(sink)
    n_votes = counted_vote_total(project=project, run=run)
    if format == ExportFormat.HF:
        from annotation.services.export_hf import write_hf_tables

        stats = write_hf_tables(project=project, run=run, sink=release, report=report, n_votes=n_votes)
    else:
        stats = _write_rafdb_tree(
            project=project, run=run, sink=release, report=report, n_votes=n_votes, include_images=include_images
        )
    pseudonyms = Pseudonyms(release_salt(project=project, run=run))
    stats["votes"] = _write_votes(
        project=project,
        run=run,
        sink=release,
        pseudonyms=pseudonyms,
        report=report,
        done=stats["work_done"],
        n_votes=n_votes,
    )
    stats["annotators"] = _write_annotators(project=project, run=run, sink=release, pseudonyms=pseudonyms)
    base = changes_from or (run_previous(run=run) if run is not None else None)
    stats["changes_from"] = base.pk if base is not None and run is not None else None
    stats["changes"] = (
        write_changes(sink=release, classes=list(project.classes), base=base, run=run)
        if base is not None and run is not None
        else None
    )
    if format == ExportFormat.HF:
        from annotation.services.export_hf import write_hf_metadata

        write_hf_metadata(project=project, run=run, sink=release, stats=stats, platform_version=platform_version)
    else:
        readme = release.open_text("README.md")
        readme.write(datasheet(project=project, run=run, stats=stats, platform_version=platform_version))
    report(1.0, "Writing archive")
    release.close()
    content_hash = release.content_hash
    return {
        "format": str(format),
        "images": stats["images"],
        "votes": stats["votes"],
        "annotators": stats["annotators"],
        "layout_images": sum(stats["per_class"].values()),
        "aligned_computed": stats["aligned_computed"],
        "aligned_missing": stats["aligned_missing"],
        "annotation_missing": stats["annotation_missing"],
        "changes_from": stats["changes_from"],
        "changes": stats["changes"],
        "content_hash": content_hash,
    }


def _write_rafdb_tree(
    *,
    project: Project,
    run: ReliabilityRun | None,
    sink: ExportSink,
    report: Progress,
    n_votes: int,
    include_images: bool,
) -> dict[str, Any]:
    """The RAF-DB release layout and ``distributions.csv``."""
    classes = list(project.classes)
    counts = export_counts(project=project, run=run)
    n_images = sum(counts.values())
    # Votes are cheap per row; weigh them so the progress bar moves evenly.
    total_work = max(n_images + n_votes / 50, 1)
    stats: dict[str, Any] = {
        "images": 0,
        "per_class": Counter(),
        "aligned_computed": 0,
        "aligned_missing": 0,
        "annotation_missing": 0,
        "reencoded": 0,
        "excluded_compound": 0,
        "basic_label_not_g": 0,
        "total_work": total_work,
    }

    distributions = sink.open_text("distributions.csv")
    dist_writer = csv.writer(distributions, lineterminator="\n")
    dist_writer.writerow(
        ["image_id", "rafdb_name", "subset", "split", "label", "label_index", "subset_label", "n_votes"]
        + [f"count_{c}" for c in classes]
        + [f"p_{c}" for c in classes]
        + [f"posterior_{c}" for c in classes]
        + ["landmarks_source"]
    )
    label_files: dict[str, IO[str]] = {}
    distribution_files: dict[str, IO[str]] = {}
    numbers: Counter[tuple[str, str]] = Counter()
    used: set[tuple[str, str]] = set()
    done = 0
    report(0.0, f"Exporting {n_images} images")
    for row in export_rows(project=project, run=run):
        name = _layout_name(row, numbers, counts, used, stats)
        rafdb_name = f"{row.subset}/{name}" if name else ""
        if name:
            label_file = label_files.get(row.subset)
            if label_file is None:
                label_file = label_files[row.subset] = sink.open_text(f"{row.subset}/{layout.LABEL_FILE}")
            label_file.write(layout.label_line(name, _layout_label(row)))
            if row.distribution:
                dist_file = distribution_files.get(row.subset)
                if dist_file is None:
                    path = f"{row.subset}/{layout.distribution_file(row.subset)}"
                    dist_file = distribution_files[row.subset] = sink.open_text(path)
                dist_file.write(layout.distribution_line(name, row.distribution))
            _write_image_files(sink, row, name, stats, include_images=include_images)
            stats["per_class"][(row.subset, row.split, row.subset_label)] += 1
        n = len(classes)
        raw_counts = row.counts if row.counts else [""] * n
        probabilities = [f"{p:.6f}" for p in row.distribution] if row.distribution else [""] * n
        posterior = [f"{p:.6f}" for p in row.posterior] if row.posterior else [""] * n
        if row.subset == "basic" and row.label is not None and 0 <= row.label < n:
            stats["basic_label_not_g"] += int(classes[row.label] != row.subset_label)
        dist_writer.writerow(
            [
                row.image_id,
                rafdb_name,
                row.subset,
                row.split,
                classes[row.label] if row.label is not None and 0 <= row.label < n else "",
                "" if row.label is None else row.label,
                row.subset_label,
                sum(row.counts) if row.counts else "",
                *raw_counts,
                *probabilities,
                *posterior,
                row.face.landmarks_source if row.face else "",
            ]
        )
        stats["images"] += 1
        done += 1
        if done % 200 == 0:
            report(done / total_work, f"Images {done}/{n_images}")
    stats["work_done"] = done / total_work
    return stats


def _write_votes(
    *,
    project: Project,
    run: ReliabilityRun | None,
    sink: ExportSink,
    pseudonyms: Pseudonyms,
    report: Progress,
    done: float,
    n_votes: int,
) -> int:
    """``votes.csv``: the counted votes of the run's snapshot, pseudonymous."""
    classes = list(project.classes)
    votes = sink.open_text("votes.csv")
    vote_writer = csv.writer(votes, lineterminator="\n")
    vote_writer.writerow(["image_id", "annotator", "label", "label_index", "time_taken_ms", "created_at"])
    written = 0
    for image_id, annotator_id, label, time_taken_ms, created_at in counted_votes(project=project, run=run):
        vote_writer.writerow(
            [
                image_id,
                pseudonyms(annotator_id),
                classes[label] if label < len(classes) else "",
                label,
                "" if time_taken_ms is None else time_taken_ms,
                created_at,
            ]
        )
        written += 1
        if written % 20000 == 0:
            report(done + (1 - done) * written / max(n_votes, 1), f"Votes {written}/{n_votes}")
    return written


def _write_annotators(*, project: Project, run: ReliabilityRun | None, sink: ExportSink, pseudonyms: Pseudonyms) -> int:
    annotators = sink.open_text("annotators.csv")
    annotator_writer = csv.writer(annotators, lineterminator="\n")
    annotator_writer.writerow(["annotator", "reliability", "kept", "votes", "gold_accuracy"])
    annotator_rows = export_annotators(project=project, run=run)
    for a in annotator_rows:
        annotator_writer.writerow(
            [
                pseudonyms(a.annotator_id),
                "" if a.reliability is None else f"{a.reliability:.6f}",
                "" if a.kept is None else int(a.kept),
                a.votes,
                "" if a.gold_accuracy is None else f"{a.gold_accuracy:.4f}",
            ]
        )
    return len(annotator_rows)


def _layout_name(
    row: ExportRow,
    numbers: Counter[tuple[str, str]],
    counts: dict[tuple[str, str], int],
    used: set[tuple[str, str]],
    stats: dict[str, Any],
) -> str:
    """The RAF-DB name of a row in its subset, or "" when the row is not in the release layout
    (no subset, no split, or the compound class dropped from the benchmark). An image imported
    from a RAF-DB copy keeps its name, so that a copy comes back as it went in."""
    if row.subset not in layout.SUBSETS or row.split not in layout.SPLITS:
        return ""
    if row.subset == "compound" and row.subset_label not in COMPOUND_BENCHMARK:
        stats["excluded_compound"] += 1
        return ""
    if row.subset == "basic" and row.label is None:
        return ""
    name = row.rafdb_name
    if not name or layout.split_of(name) != row.split or (row.subset, name) in used:
        key = (row.subset, row.split)
        while True:
            numbers[key] += 1
            name = layout.raf_name(subset=row.subset, split=row.split, number=numbers[key], count=counts.get(key, 0))
            if (row.subset, name) not in used:
                break
    used.add((row.subset, name))
    return name


def _layout_label(row: ExportRow) -> int:
    if row.subset == "compound":
        return COMPOUND_BENCHMARK.index(row.subset_label) + 1
    assert row.label is not None
    return row.label + 1


def storage_read(name: str) -> bytes:
    with default_storage.open(name, "rb") as handle:
        return handle.read()


def _write_image_files(
    sink: ExportSink, row: ExportRow, name: str, stats: dict[str, Any], *, include_images: bool
) -> None:
    prefix = row.subset
    face = row.face
    if face is not None and face.landmarks:
        gender = _UNKNOWN_GENDER if face.gender is None else face.gender
        race = _UNKNOWN_RACE if face.race is None else face.race
        age = _UNKNOWN_AGE if face.age is None else face.age
        text = layout.manual_text(face.landmarks, gender, race, age)
        sink.write_bytes(f"{prefix}/{layout.MANUAL_DIR}/{layout.manual_name(name)}", text.encode(), compress=True)
    else:
        stats["annotation_missing"] += 1
    if face is not None and face.auto_landmarks:
        text = layout.auto_text(face.auto_landmarks)
        sink.write_bytes(f"{prefix}/{layout.AUTO_DIR}/{layout.auto_name(name)}", text.encode(), compress=True)
    if face is not None:
        sink.write_bytes(
            f"{prefix}/{layout.BOX_DIR}/{layout.box_name(name)}", layout.box_text(*face.box).encode(), compress=True
        )
    if not include_images:
        return
    original = storage_read(row.file)
    if not original.startswith(_JPEG_MAGIC):
        # RAF-DB names every image .jpg; other formats are re-encoded so that readers agree.
        original = _encode_jpeg(cv2.imdecode(np.frombuffer(original, np.uint8), cv2.IMREAD_COLOR))
        stats["reencoded"] += 1
    sink.write_bytes(f"{prefix}/{layout.ORIGINAL_DIR}/{name}", original, compress=False)
    aligned = aligned_face_bytes(face, original, stats)
    if aligned is not None:
        sink.write_bytes(f"{prefix}/{layout.ALIGNED_DIR}/{layout.aligned_name(name)}", aligned, compress=False)


def aligned_face_bytes(face: Any, original: bytes, stats: dict[str, Any]) -> bytes | None:
    """The stored 100x100 alignment, or one computed from the landmarks (training/alignment.py)."""
    if face is None:
        stats["aligned_missing"] += 1
        return None
    if face.aligned:
        return storage_read(face.aligned)
    if not face.landmarks:
        stats["aligned_missing"] += 1
        return None
    image = cv2.imdecode(np.frombuffer(original, np.uint8), cv2.IMREAD_COLOR)  # (H, W, 3) BGR
    try:
        aligned = align_face(image, np.asarray(face.landmarks, dtype=np.float64))  # (100, 100, 3)
    except LandmarkError:
        stats["aligned_missing"] += 1
        return None
    stats["aligned_computed"] += 1
    return _encode_jpeg(aligned)


def _encode_jpeg(bgr: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 95])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return encoded.tobytes()


def snapshot_sentence(run: ReliabilityRun | None) -> str:
    """Which votes an export holds, in words (datasheet and dataset card)."""
    if run is None:
        return "every counted vote (reference labels: no reliability run)"
    if run.votes_snapshot_last_id is None:
        return "every counted vote at export time (this run predates recorded vote snapshots)"
    assert run.votes_snapshot_at is not None
    return (
        f"the counted votes of the run's snapshot, taken {run.votes_snapshot_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC "
        f"(vote ids up to {run.votes_snapshot_last_id}); later votes are not in this release"
    )


def changes_sentence(stats: dict[str, Any]) -> str:
    changes = stats.get("changes")
    if changes is None:
        return "No earlier run to compare with: no `changes.csv`."
    return (
        f"Against reliability run {stats['changes_from']}: {changes['added']} images added, "
        f"{changes['removed']} removed, {changes['relabelled']} relabelled, {changes['moved']} moved to another "
        "subset or split (`changes.csv`)."
    )


def datasheet(*, project: Project, run: ReliabilityRun | None, stats: dict[str, Any], platform_version: str) -> str:
    """The export's ``README.md``: what it holds, where its labels come from, its licence."""
    lines = [f"# {project.name}: RAF dataset export", ""]
    lines.append(f"- Votes: {snapshot_sentence(run)}")
    lines.append(f"- Platform: RAF {platform_version}".rstrip())
    if run is not None:
        lines.append(f"- Labels: reliability run {run.pk} (method `{run.method}`, {run.created_at:%Y-%m-%d %H:%M UTC})")
        gold = run.metrics.get("gold_accuracy")
        if gold is not None:
            low, high = run.metrics.get("gold_accuracy_ci95") or (None, None)
            lines.append(
                f"- Label accuracy on the project's {run.metrics.get('gold_images')} gold images: {gold:.4f} "
                f"(95% Wilson interval {_figure(low)} to {_figure(high)})"
            )
    else:
        lines.append("- Labels: reference labels of an imported dataset (no reliability run)")
    lines.append(f"- Images: {stats['images']}; counted votes: {stats['votes']}; annotators: {stats['annotators']}")
    lines += ["", "## Counts per class and subset", "", "| subset | class | train | test |", "|---|---|---|---|"]
    per_class: Counter[tuple[str, str, str]] = stats["per_class"]
    for subset in layout.SUBSETS:
        for name in layout.SUBSET_CLASSES[subset] if subset == "compound" else project.classes:
            train, test = per_class[(subset, "train", name)], per_class[(subset, "test", name)]
            if train or test:
                lines.append(f"| {subset} | {name} | {train} | {test} |")
    if stats["excluded_compound"]:
        lines.append(
            f"\n{stats['excluded_compound']} compound images of the dropped class are only in distributions.csv."
        )
    lines += ["", "## Changes", "", changes_sentence(stats)]
    lines += ["", "## Agreement and the run's parameters", ""]
    if run is not None:
        lines.append("| metric | value |")
        lines.append("|---|---|")
        lines += [f"| {key} | {_figure(value)} |" for key, value in sorted(run.metrics.items())]
        lines += ["", "| parameter | value |", "|---|---|"]
        lines += [f"| {key} | {_figure(value)} |" for key, value in sorted(run.params.items())]
    else:
        lines.append("None: the labels were imported, not estimated from votes.")
    lines += [
        "",
        "## Files",
        "",
        "- `basic/`, `compound/`: the RAF-DB release layout (`EmoLabel/list_patition_label.txt`, "
        "`Image/original/`, `Image/aligned/` (100x100), `Annotation/manual/`, `Annotation/auto/` (when known), "
        "`Annotation/boundingbox/`, `EmoLabel/distribution_<subset>.txt`). "
        "Basic labels 1..7 and compound labels 1..11 in RAF-DB order.",
        "- `distributions.csv`: per image the raw vote counts (`count_<class>`), label, subset, split, "
        "and `rafdb_name` mapping the RAF-DB file name to the platform's `image_id`. Which column is which:",
        "  - `label` / `label_index`: the published label, the argmax of the estimator's posterior "
        "(its best estimate of the true class); in runs made before posteriors were stored, the argmax of `p_`.",
        "  - `posterior_<class>`: the estimator's posterior probability that the image's true class is "
        "`<class>` (empty for runs made before posteriors were stored).",
        "  - `p_<class>`: the paper's distribution g, the reliability-weighted votes of the kept annotators, "
        "normalised: how the crowd perceived the image, not a belief about one true class. g alone decides the "
        "subsets (basic: one class above the mean of g; compound: two, neutral left out) and is what "
        "`EmoLabel/distribution_<subset>.txt` holds.",
        "  - In `basic/EmoLabel/list_patition_label.txt` the label is the published label; it differs from the "
        f"class that made the image basic (`subset_label`) for {stats.get('basic_label_not_g', 0)} basic images.",
        "- `votes.csv`: the counted votes of the run's snapshot; `annotator` is a pseudonym, the same in every "
        "export of this run and unlinkable to other runs.",
        "- `annotators.csv`: pseudonym, reliability, kept, votes, gold accuracy.",
        "- `changes.csv` (when there is an earlier run): images added, removed, relabelled or moved since it.",
        "- `checksums.sha256`: the sha256 of every other file (`sha256sum -c checksums.sha256`); the sha256 of "
        "this file is the release's content hash, the same for every export of the same run.",
        "",
        f"Images without manual annotation: {stats['annotation_missing']}; aligned faces computed from landmarks: "
        f"{stats['aligned_computed']}; without an aligned face: {stats['aligned_missing']}.",
        "",
        "## Licence",
        "",
        project.licence_text.strip() or "The project sets no licence text.",
        "",
    ]
    return "\n".join(lines)


def _figure(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value).replace("|", "\\|").replace("\n", " ")
