"""Reliability runs: the paper's estimator over a project's counted votes.

A run reads one consistent snapshot of the counted, non-gold votes straight into numpy arrays
(a single streaming ``SELECT``: every statement sees one snapshot, and the rows arrive as plain
value tuples that go into ``np.fromiter``, never one model instance per vote), runs
:func:`reliability.pipeline.estimate` and :func:`reliability.subsets.partition`, and writes its
results with ``bulk_create``. It becomes the project's current run in the same transaction that
writes the results, and only then: a failure, or a killed worker, leaves the previous current
run as it was.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from annotation.errors import ServiceError
from annotation.models import (
    AnnotatorReliability,
    ImageReliability,
    Job,
    Project,
    ReliabilityRun,
    Vote,
)
from annotation.services.jobs import job_create, job_enqueue, job_set_result, jobs_recover_stale
from reliability.filtering import FilterRule
from reliability.pipeline import METHODS, estimate, make_estimator
from reliability.subsets import partition
from reliability.votes import VoteTable, VoteTableError

JOB_KIND = "reliability"
# Run parameters besides the estimator's own ("estimator": {...}), with their defaults.
RUN_DEFAULTS: dict[str, Any] = {
    "keep_fraction": 0.5,
    "min_accuracy": None,
    "min_class_size": 20,
    "test_fraction": 1 / 6,
    "seed": 0,
    # Images with fewer counted votes stay out of the subsets; None: the project's subset_min_votes.
    "min_votes": None,
}
Progress = Callable[[float, str], None]


def reliability_params_clean(*, method: str, params: dict[str, Any] | None) -> dict[str, Any]:
    """Validate ``params`` for ``method`` and fill in defaults; ``ServiceError`` when bad."""
    if method not in METHODS:
        raise ServiceError(f"Unknown method {method!r}; choose one of {', '.join(METHODS)}.", code="invalid_method")
    params = dict(params or {})
    unknown = set(params) - set(RUN_DEFAULTS) - {"estimator"}
    if unknown:
        raise ServiceError(f"Unknown parameter(s): {', '.join(sorted(unknown))}.", code="invalid_params")
    cleaned = {**RUN_DEFAULTS, **params, "estimator": dict(params.get("estimator") or {})}
    try:
        make_estimator(method, cleaned["estimator"])
        FilterRule(fraction=float(cleaned["keep_fraction"]), min_accuracy=cleaned["min_accuracy"])
        if int(cleaned["min_class_size"]) < 0 or not 0 < float(cleaned["test_fraction"]) < 1:
            raise ValueError("min_class_size must be >= 0 and test_fraction in (0, 1)")
        if cleaned["min_votes"] is not None and int(cleaned["min_votes"]) < 1:
            raise ValueError("min_votes must be at least 1")
        int(cleaned["seed"])
    except (TypeError, ValueError) as exc:
        raise ServiceError(f"Invalid parameters: {exc}", code="invalid_params") from exc
    return cleaned


def reliability_run_start(
    *,
    project: Project,
    method: str = "glad",
    params: dict[str, Any] | None = None,
    created_by: AbstractBaseUser | None = None,
) -> ReliabilityRun:
    """Queue a run, or return the project's run that is already queued or running."""
    cleaned = reliability_params_clean(method=method, params=params)
    if cleaned["min_votes"] is None:
        cleaned["min_votes"] = project.subset_min_votes
    from annotation.tasks import reliability_run_task  # the task module imports this one

    # A run whose worker died is sent again (or failed) first, so it is never "active" forever.
    jobs_recover_stale(project=project)
    with transaction.atomic():
        # Lock the project row so that two triggers at once cannot both create a run.
        Project.objects.select_for_update().get(pk=project.pk)
        active = (
            ReliabilityRun.objects.filter(project=project, job__status__in=Job.ACTIVE)
            .select_related("job")
            .order_by("-created_at")
            .first()
        )
        if active is not None:
            return active
        job = job_create(kind=JOB_KIND, project=project, created_by=created_by, params={"method": method, **cleaned})
        run = ReliabilityRun.objects.create(project=project, job=job, method=method, params=cleaned)
        job_enqueue(job=job, task=reliability_run_task, args=(run.pk,))
    return run


def reliability_votes_snapshot(*, project: Project) -> VoteTable:
    """The project's counted, non-gold votes as a :class:`VoteTable` (one streaming query)."""
    rows = (
        Vote.objects.filter(image__project=project, counted=True, is_gold=False, image__is_gold=False)
        .order_by()
        .values_list("annotator_id", "image_id", "label")
    )
    flat = np.fromiter(itertools.chain.from_iterable(rows.iterator(chunk_size=20_000)), dtype=np.int64)
    if flat.shape[0] == 0:
        raise ServiceError("The project has no counted votes yet.", code="no_votes")
    triples = flat.reshape(-1, 3)  # (n_votes, 3): annotator, image, label
    try:
        return VoteTable.from_arrays(
            triples[:, 0], triples[:, 1], triples[:, 2], classes=tuple(project.classes), check_duplicates=False
        )
    except VoteTableError as exc:
        raise ServiceError(f"The votes cannot be used: {exc}", code="bad_votes") from exc


def reliability_run_execute(*, run: ReliabilityRun, progress: Progress | None = None) -> ReliabilityRun:
    """Compute a run and make it current (see the module docstring)."""
    report = progress or (lambda fraction, message="": None)
    if run.succeeded:  # a redelivered task: the results are already stored
        return run
    project = run.project
    params = {**RUN_DEFAULTS, **run.params}
    report(0.02, "reading votes")
    table = reliability_votes_snapshot(project=project)
    report(0.1, f"{table.n_votes} votes from {table.n_annotators} annotators on {table.n_images} images")
    rule = FilterRule(fraction=float(params["keep_fraction"]), min_accuracy=params["min_accuracy"])
    try:
        result = estimate(
            table,
            method=run.method,
            params=params.get("estimator") or {},
            rule=rule,
            progress=lambda f, m: report(0.1 + 0.7 * f, m),
        )
        min_votes = int(params["min_votes"] or project.subset_min_votes)
        enough = np.asarray(result.counts).sum(axis=1) >= min_votes  # (n_images,)
        part = _partition_enough(result.distribution, enough, table.classes, params)
    except ValueError as exc:
        raise ServiceError(f"The reliability estimate could not be computed: {exc}.", code="estimation_failed") from exc
    report(0.85, "writing results")
    metrics = {
        **result.summary(),
        "basic": int(np.sum(part.subset == "basic")),
        "compound": int(np.sum(part.subset == "compound")),
        "dropped_classes": list(part.dropped),
        "min_votes": min_votes,
        "left_out_few_votes": int(np.sum(~enough)),
    }
    accuracy = annotator_accuracy(table, result.labels)
    annotator_rows = [
        AnnotatorReliability(
            run=run,
            annotator_id=int(user_id),
            reliability=float(rel),
            accuracy=float(acc),
            kept=bool(kept),
            votes=int(n),
        )
        for user_id, rel, acc, kept, n in zip(
            table.annotator_ids.tolist(),
            np.nan_to_num(result.reliability).tolist(),
            accuracy.tolist(),
            result.kept.tolist(),
            result.votes.tolist(),
            strict=True,
        )
    ]
    difficulty = result.difficulty
    image_rows = [
        ImageReliability(
            run=run,
            image_id=int(image_id),
            label=int(label),
            distribution=[round(p, 6) for p in dist],
            counts=counts,
            difficulty=None if difficulty is None else float(difficulty[j]),
            subset=str(part.subset[j]),
            subset_label=str(part.name[j]),
            split=str(part.split[j]),
        )
        for j, (image_id, label, dist, counts) in enumerate(
            zip(
                table.image_ids.tolist(),
                result.labels.tolist(),
                result.distribution.tolist(),
                result.counts.tolist(),
                strict=True,
            )
        )
    ]
    with transaction.atomic():
        AnnotatorReliability.objects.bulk_create(annotator_rows, batch_size=2000)
        ImageReliability.objects.bulk_create(image_rows, batch_size=2000)
        ReliabilityRun.objects.filter(project=project, is_current=True).exclude(pk=run.pk).update(is_current=False)
        ReliabilityRun.objects.filter(pk=run.pk).update(metrics=metrics, succeeded=True, is_current=True)
    if run.job_id:
        job_set_result(job_id=run.job_id, result=metrics, message=f"kept {metrics['annotators_kept']} annotators")
    run.refresh_from_db()
    report(1.0, "done")
    return run


def annotator_accuracy(table: VoteTable, labels: np.ndarray) -> np.ndarray:
    """``(n_annotators,)`` each annotator's share of votes equal to the image's estimated label
    ``labels`` ``(n_images,)``: an estimated accuracy, a probability whatever the method."""
    hit = (table.label == np.asarray(labels)[table.image]).astype(np.float64)  # (n_votes,)
    n = np.bincount(table.annotator, minlength=table.n_annotators)
    return np.bincount(table.annotator, weights=hit, minlength=table.n_annotators) / np.maximum(n, 1)


def _partition_enough(distribution: np.ndarray, enough: np.ndarray, classes: tuple[str, ...], params: dict) -> Any:
    """:func:`partition` over the images with enough votes; the others get no subset."""
    from reliability.subsets import Partition

    n = distribution.shape[0]
    if not enough.any():  # no image has enough votes yet: no subsets, the run still rates annotators
        empty = np.full(n, "", dtype="<U1")
        return Partition(subset=empty, label=np.full(n, -1, dtype=np.int64), name=empty, split=empty, dropped=())
    inner = partition(
        np.asarray(distribution)[enough],
        classes=classes,
        min_class_size=int(params["min_class_size"]),
        test_fraction=float(params["test_fraction"]),
        seed=int(params["seed"]),
    )
    subset = np.full(n, "", dtype=inner.subset.dtype if inner.subset.size else "<U8")
    label = np.full(n, -1, dtype=np.int64)
    name = np.full(n, "", dtype=inner.name.dtype if inner.name.size else "<U40")
    split = np.full(n, "", dtype=inner.split.dtype if inner.split.size else "<U5")
    subset[enough], label[enough], name[enough], split[enough] = inner.subset, inner.label, inner.name, inner.split
    return Partition(subset=subset, label=label, name=name, split=split, dropped=inner.dropped)
