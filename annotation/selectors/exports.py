"""Reads behind dataset exports: per-image rows, counted votes and annotator figures.

Every selector streams (``values_list(...).iterator(chunk_size=...)``; server-side cursors on
Postgres), so an export of a 30,000-image, 1.2 M-vote project never holds a queryset in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import CharField, Count, Func

from annotation.models import (
    AnnotatorReliability,
    Face,
    Image,
    ImageReliability,
    Project,
    Qualification,
    ReliabilityRun,
    Vote,
)

CHUNK = 2000
VOTE_CHUNK = 20000


@dataclass(frozen=True)
class FaceRow:
    box: tuple[float, float, float, float]
    landmarks: list[list[float]] | None
    auto_landmarks: list[list[float]] | None  # (37, 2) when known
    landmarks_source: str
    gender: int | None
    race: int | None
    age: int | None
    aligned: str  # storage name, "" when none


@dataclass(frozen=True)
class ExportRow:
    """One image as an export sees it. ``label`` is 0-based into the project's classes (the
    argmax of the estimator's ``posterior``; for imported references and runs stored before
    posteriors, the reference label or the argmax of the distribution); ``distribution`` is the
    paper's g; ``subset_label`` is the class name within the subset."""

    image_id: int
    file: str  # storage name of the original
    label: int | None
    distribution: list[float] | None  # (K,)
    counts: list[int] | None  # (K,) raw vote counts
    subset: str  # "basic", "compound" or ""
    subset_label: str
    split: str  # "train", "test" or ""
    face: FaceRow | None
    rafdb_name: str = ""  # the name an imported RAF-DB image had, kept by reference exports
    posterior: list[float] | None = None  # (K,) the estimator's posterior; None for references/older runs


def export_rows(*, project: Project, run: ReliabilityRun | None) -> Iterator[ExportRow]:
    """Rows ordered by subset, split, image id: from ``run``'s results, or from the images'
    reference labels (an imported dataset) when ``run`` is None."""
    if run is not None:
        raw: Iterator[tuple[Any, ...]] = (
            (*item[:8], "", item[8])
            for item in ImageReliability.objects.filter(run=run)
            .order_by("subset", "-split", "image_id")  # RAF-DB lists train before test
            .values_list(
                "image_id",
                "image__file",
                "label",
                "distribution",
                "counts",
                "subset",
                "subset_label",
                "split",
                "posterior",
            )
            .iterator(chunk_size=CHUNK)
        )
    else:
        raw = _reference_rows(project)
    chunk: list[tuple[Any, ...]] = []
    for item in raw:
        chunk.append(item)
        if len(chunk) >= CHUNK:
            yield from _attach_faces(chunk)
            chunk = []
    if chunk:
        yield from _attach_faces(chunk)


def run_stores_posteriors(*, run: ReliabilityRun | None) -> bool:
    """Whether ``run`` stored the estimator's posterior per image (runs made before it did not;
    their exports leave the column out). The rows carry it as ``ExportRow.posterior``."""
    return run is not None and ImageReliability.objects.filter(run=run, posterior__isnull=False).exists()


def _reference_rows(project: Project) -> Iterator[tuple[Any, ...]]:
    from training.rafdb_layout import SUBSET_CLASSES

    basic = list(project.classes)
    rows = (
        Image.objects.filter(project=project, reference_label__isnull=False)
        .order_by("reference_subset", "-reference_split", "id")
        .values_list(
            "id", "file", "reference_label", "reference_distribution", "reference_subset", "reference_split", "source"
        )
        .iterator(chunk_size=CHUNK)
    )
    for image_id, file, ref_label, distribution, subset, split, source in rows:
        classes = SUBSET_CLASSES.get(subset, tuple(basic))
        subset_label = classes[ref_label] if 0 <= ref_label < len(classes) else ""
        # For basic images the reference label is the class; a compound label is no index
        # into the 7 basic classes, so the 7-d label is the distribution's argmax when known.
        if subset == "compound":
            label = max(range(len(distribution)), key=distribution.__getitem__) if distribution else None
        else:
            label = ref_label
        name = _imported_name(source, subset)
        yield (image_id, file, label, distribution, None, subset, subset_label, split, name, None)


def _imported_name(source: str, subset: str) -> str:
    """``train_00001.jpg`` for an image import_rafdb stored from ``<subset>/Image/original/``."""
    from training.rafdb_layout import NAME_RE, ORIGINAL_DIR

    folder, _, name = source.rpartition("/")
    return name if folder == f"{subset}/{ORIGINAL_DIR}" and NAME_RE.match(name) else ""


def _attach_faces(chunk: list[tuple[Any, ...]]) -> Iterator[ExportRow]:
    ids = [item[0] for item in chunk]
    faces: dict[int, FaceRow] = {}
    for image_id, x1, y1, x2, y2, landmarks, auto, source, gender, race, age, aligned in Face.objects.filter(
        image_id__in=ids, is_main=True
    ).values_list(
        "image_id",
        "x1",
        "y1",
        "x2",
        "y2",
        "landmarks",
        "auto_landmarks",
        "landmarks_source",
        "gender",
        "race",
        "age_range",
        "aligned",
    ):
        faces[image_id] = FaceRow((x1, y1, x2, y2), landmarks, auto, source, gender, race, age, aligned or "")
    for image_id, file, label, distribution, counts, subset, subset_label, split, name, posterior in chunk:
        yield ExportRow(
            image_id,
            file,
            label,
            distribution,
            counts,
            subset,
            subset_label,
            split,
            faces.get(image_id),
            name,
            posterior,
        )


def export_counts(*, project: Project, run: ReliabilityRun | None) -> dict[tuple[str, str], int]:
    """Images per ``(subset, split)``; RAF-DB names are numbered within each."""
    if run is not None:
        pairs = ImageReliability.objects.filter(run=run).values("subset", "split").order_by()
        return {(r["subset"], r["split"]): r["n"] for r in pairs.annotate(n=Count("pk"))}
    pairs = (
        Image.objects.filter(project=project, reference_label__isnull=False)
        .values("reference_subset", "reference_split")
        .order_by()
    )
    return {(r["reference_subset"], r["reference_split"]): r["n"] for r in pairs.annotate(n=Count("pk"))}


class IsoTimestamp(Func):
    """A timestamp as ISO-8601 UTC text (``2026-11-29T15:00:00.123456Z``), formatted by the
    database: parsing 1.2 M timestamps into datetimes and back costs more than the rest of the
    vote export together."""

    output_field = CharField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = "to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
        return self.as_sql(compiler, connection, template=template, **extra)


def export_votes_filter(*, project: Project, run: ReliabilityRun | None) -> dict[str, Any]:
    """The votes an export writes: the counted votes of the run's snapshot (every counted vote
    for a reference export, or a run made before snapshots were recorded)."""
    where: dict[str, Any] = {"image__project": project, "counted": True}
    if run is not None and run.votes_snapshot_last_id is not None:
        where["id__lte"] = run.votes_snapshot_last_id
    return where


def counted_votes(
    *, project: Project, run: ReliabilityRun | None = None
) -> Iterator[tuple[int, int, int, int | None, str]]:
    """``(image_id, annotator_id, label, time_taken_ms, created_at ISO text)`` of every counted vote
    in ``run``'s snapshot (:func:`export_votes_filter`).

    Keyset pages of ``VOTE_CHUNK`` rows by id rather than one cursor: outside a transaction
    Django declares Postgres cursors ``WITH HOLD``, which materialises all 1.2 M rows on the
    server before the first one arrives; pages stream and keep job progress writes visible."""
    query = (
        Vote.objects.filter(**export_votes_filter(project=project, run=run))
        .order_by("id")
        .annotate(created_iso=IsoTimestamp("created_at"))
    )
    last = 0
    while True:
        page = list(
            query.filter(id__gt=last).values_list(
                "id", "image_id", "annotator_id", "label", "time_taken_ms", "created_iso"
            )[:VOTE_CHUNK]
        )
        for row in page:
            yield row[1:]
        if len(page) < VOTE_CHUNK:
            return
        last = page[-1][0]


def counted_vote_total(*, project: Project, run: ReliabilityRun | None = None) -> int:
    return Vote.objects.filter(**export_votes_filter(project=project, run=run)).count()


@dataclass(frozen=True)
class AnnotatorRow:
    annotator_id: int
    reliability: float | None
    kept: bool | None
    votes: int
    gold_accuracy: float | None


def export_annotators(*, project: Project, run: ReliabilityRun | None) -> list[AnnotatorRow]:
    """One row per annotator of the run (or, without a run, per annotator with counted votes).

    A list: annotators number in the hundreds, not millions."""
    gold = {
        annotator_id: (correct / seen if seen else None)
        for annotator_id, seen, correct in Qualification.objects.filter(project=project).values_list(
            "annotator_id", "gold_seen", "gold_correct"
        )
    }
    if run is not None:
        return [
            AnnotatorRow(annotator_id, reliability, kept, votes, gold.get(annotator_id))
            for annotator_id, reliability, kept, votes in AnnotatorReliability.objects.filter(run=run)
            .order_by("annotator_id")
            .values_list("annotator_id", "reliability", "kept", "votes")
        ]
    return [
        AnnotatorRow(annotator_id, None, None, n, gold.get(annotator_id))
        for annotator_id, n in Vote.objects.filter(**export_votes_filter(project=project, run=None))
        .order_by("annotator_id")
        .values("annotator_id")
        .annotate(n=Count("id"))
        .values_list("annotator_id", "n")
    ]
