"""The change list between two reliability runs: images added, removed, relabelled or moved.

A release's ``changes.csv`` comes from here. Both runs' per-image rows are read in image-id order
(server-side, in chunks) and merged, so two 30,000-image runs never sit in memory at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from annotation.models import ImageReliability, ReliabilityRun

CHUNK = 5000
ADDED, REMOVED, RELABELLED, MOVED = "added", "removed", "relabelled", "moved"


@dataclass(frozen=True)
class RunImage:
    label: int
    subset: str
    subset_label: str
    split: str


@dataclass(frozen=True)
class RunChange:
    """One image whose place in the dataset differs between ``base`` and ``run``.

    ``change`` is ``added`` (in ``run`` only), ``removed`` (in ``base`` only), ``relabelled``
    (its label or its subset's class changed) or ``moved`` (same labels, another subset or split)."""

    image_id: int
    change: str
    old: RunImage | None
    new: RunImage | None


def run_previous(*, run: ReliabilityRun) -> ReliabilityRun | None:
    """The project's last succeeded run before ``run``: what a release of ``run`` is compared with."""
    return (
        ReliabilityRun.objects.filter(project_id=run.project_id, succeeded=True, pk__lt=run.pk).order_by("-pk").first()
    )


def _images(run: ReliabilityRun) -> Iterator[tuple[int, RunImage]]:
    rows = (
        ImageReliability.objects.filter(run=run)
        .order_by("image_id")
        .values_list("image_id", "label", "subset", "subset_label", "split")
    )
    for image_id, label, subset, subset_label, split in rows.iterator(chunk_size=CHUNK):
        yield image_id, RunImage(label, subset, subset_label, split)


def run_changes(*, base: ReliabilityRun, run: ReliabilityRun) -> Iterator[RunChange]:
    """Every image that differs between ``base`` and ``run``, in image-id order."""
    old_rows, new_rows = _images(base), _images(run)
    old, new = next(old_rows, None), next(new_rows, None)
    while old is not None or new is not None:
        if new is None or (old is not None and old[0] < new[0]):
            assert old is not None
            yield RunChange(old[0], REMOVED, old[1], None)
            old = next(old_rows, None)
        elif old is None or new[0] < old[0]:
            yield RunChange(new[0], ADDED, None, new[1])
            new = next(new_rows, None)
        else:
            was, now = old[1], new[1]
            if (was.label, was.subset_label) != (now.label, now.subset_label):
                yield RunChange(new[0], RELABELLED, was, now)
            elif (was.subset, was.split) != (now.subset, now.split):
                yield RunChange(new[0], MOVED, was, now)
            old, new = next(old_rows, None), next(new_rows, None)
