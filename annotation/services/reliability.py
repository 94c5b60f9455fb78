"""Reliability runs: the project's estimator over its counted votes, scored on its gold images.

A run reads one consistent snapshot of the counted, non-gold votes straight into numpy arrays
(one statement, so one snapshot, that returns each column as one binary value:
:mod:`annotation.services.vote_arrays`, the live update's reader too), runs
:func:`reliability.pipeline.estimate` and :func:`reliability.subsets.partition`, and writes its
results with ``bulk_create``. It becomes the project's current run in the same transaction that
writes the results, and only then: a failure, or a killed worker, leaves the previous current
run as it was.

Each image stores the estimator's posterior and its argmax as ``label`` (the published label)
next to the paper's distribution g, which alone makes the basic/compound subsets. The votes on
the project's gold images go into the fit as well, as images like any other (the estimator never
sees a gold label; they only tell it more about the annotators); the labels it gives those
images are then scored against the gold labels, and the run's metrics carry that accuracy with a
Wilson 95% interval. Gold images get no result row and no subset.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import numpy as np
from django.contrib.auth.models import AbstractBaseUser
from django.db import OperationalError, connection, transaction

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
from annotation.services.vote_arrays import PROJECT_VOTES, VOTE_COLUMNS, query_arrays
from reliability.filtering import FilterRule
from reliability.gold import gold_score
from reliability.pipeline import DEFAULT_METHOD, METHODS, estimate, make_estimator
from reliability.subsets import partition
from reliability.votes import VoteTable, VoteTableError

JOB_KIND = "reliability"
# Run parameters besides the estimator's own ("estimator": {...}), with their defaults.
RUN_DEFAULTS: dict[str, Any] = {
    "keep_fraction": 0.5,
    "min_accuracy": None,
    "min_class_size": 20,
    "test_fraction": 0.2,  # the released RAF-DB benchmark's train:test = 4:1
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
    method: str = DEFAULT_METHOD,
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


def votes_snapshot_mark() -> tuple[datetime, int]:
    """``(time, last vote id)`` such that every vote with ``id <= last`` is committed now and
    every later vote gets a larger id.

    A vote's id comes from the table's sequence when its row is inserted, so ids follow
    insertion, not commit: a vote inserted before another may commit after it. Taking ``SHARE``
    on the vote table waits for the transactions that have inserted votes to end and holds new
    inserts back while ``max(id)`` is read, a few milliseconds. The time alone would not do: a
    vote's ``created_at`` comes from the web process's clock before its transaction commits."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL lock_timeout = '30s'")
        try:
            cursor.execute(f"LOCK TABLE {Vote._meta.db_table} IN SHARE MODE")
        except OperationalError as exc:
            raise ServiceError(
                "Votes are being written in a long transaction; the run will read them when it ends.",
                code="votes_busy",
            ) from exc
        cursor.execute(f"SELECT clock_timestamp(), coalesce(max(id), 0) FROM {Vote._meta.db_table}")
        taken_at, last_id = cursor.fetchone()
    return taken_at, int(last_id)


def reliability_votes_snapshot(*, project: Project, last_vote_id: int | None = None) -> VoteTable:
    """The project's counted, non-gold votes (up to ``last_vote_id`` when given) as a
    :class:`VoteTable`, in the order they were written (one statement,
    :func:`annotation.services.vote_arrays.query_arrays`)."""
    votes = query_arrays(
        columns=VOTE_COLUMNS,
        from_where=PROJECT_VOTES + " AND v.counted AND NOT v.is_gold AND NOT i.is_gold AND v.id <= %(last)s::bigint",
        params={"project": project.pk, "last": last_vote_id if last_vote_id is not None else 2**63 - 1},
        order_by="id",
    )
    if votes["id"].shape[0] == 0:
        raise ServiceError("The project has no counted votes yet.", code="no_votes")
    try:
        return VoteTable.from_arrays(
            votes["annotator"], votes["image"], votes["label"], classes=tuple(project.classes), check_duplicates=False
        )
    except VoteTableError as exc:
        raise ServiceError(f"The votes cannot be used: {exc}", code="bad_votes") from exc


def reliability_gold_snapshot(*, project: Project) -> tuple[np.ndarray, dict[int, int]]:
    """The votes on the project's gold images, ``(n_gold_votes, 3)`` int64 rows of annotator,
    image, label, and each gold image's gold label ``{image id: class index}``."""
    votes = query_arrays(
        columns=VOTE_COLUMNS, from_where=PROJECT_VOTES + " AND i.is_gold", params={"project": project.pk}, order_by="id"
    )
    gold = dict(
        project.images.filter(is_gold=True, gold_label__isnull=False).values_list("id", "gold_label").order_by()
    )
    return np.stack([votes["annotator"], votes["image"], votes["label"]], axis=1), gold


def _with_gold_votes(table: VoteTable, gold_votes: np.ndarray) -> VoteTable:
    """``table`` plus the gold votes, as one table over the counted and the gold images."""
    if gold_votes.shape[0] == 0:
        return table
    return VoteTable.from_arrays(
        np.concatenate([table.annotator_ids[table.annotator], gold_votes[:, 0]]),
        np.concatenate([table.image_ids[table.image], gold_votes[:, 1]]),
        np.concatenate([table.label, gold_votes[:, 2]]),
        classes=table.classes,
        check_duplicates=False,
    )


def reliability_run_execute(*, run: ReliabilityRun, progress: Progress | None = None) -> ReliabilityRun:
    """Compute a run and make it current (see the module docstring)."""
    report = progress or (lambda fraction, message="": None)
    if run.succeeded:  # a redelivered task: the results are already stored
        return run
    project = run.project
    params = {**RUN_DEFAULTS, **run.params}
    report(0.02, "reading votes")
    if run.votes_snapshot_last_id is None:
        # Marked once: a redelivered task reads the same votes again.
        run.votes_snapshot_at, run.votes_snapshot_last_id = votes_snapshot_mark()
        run.save(update_fields=["votes_snapshot_at", "votes_snapshot_last_id"])
    table = reliability_votes_snapshot(project=project, last_vote_id=run.votes_snapshot_last_id)
    report(0.1, f"{table.n_votes} votes from {table.n_annotators} annotators on {table.n_images} images")
    gold_votes, gold_labels = reliability_gold_snapshot(project=project)
    try:
        fit_table = _with_gold_votes(table, gold_votes)
    except VoteTableError as exc:
        raise ServiceError(f"The gold votes cannot be used: {exc}", code="bad_votes") from exc
    rule = FilterRule(fraction=float(params["keep_fraction"]), min_accuracy=params["min_accuracy"])
    try:
        result = estimate(
            fit_table,
            method=run.method,
            params=params.get("estimator") or {},
            rule=rule,
            progress=lambda f, m: report(0.1 + 0.7 * f, m),
        )
        is_gold = np.isin(fit_table.image_ids, np.fromiter(gold_labels, dtype=np.int64, count=len(gold_labels)))
        counted = np.flatnonzero(~is_gold)  # (n_counted_images,) rows of fit_table that get results
        min_votes = int(params["min_votes"] or project.subset_min_votes)
        enough = np.asarray(result.counts)[counted].sum(axis=1) >= min_votes  # (n_counted_images,)
        part = _partition_enough(result.distribution[counted], enough, table.classes, params)
    except ValueError as exc:
        raise ServiceError(f"The reliability estimate could not be computed: {exc}.", code="estimation_failed") from exc
    report(0.85, "writing results")
    metrics: dict[str, Any] = {
        **result.summary(),
        "images": int(counted.shape[0]),
        "votes": int(table.n_votes),
        "gold_votes": int(gold_votes.shape[0]),
        "basic": int(np.sum(part.subset == "basic")),
        "compound": int(np.sum(part.subset == "compound")),
        "dropped_classes": list(part.dropped),
        "min_votes": min_votes,
        "left_out_few_votes": int(np.sum(~enough)),
    }
    scored = np.flatnonzero(is_gold)
    if scored.shape[0]:
        truth = np.array([gold_labels[int(i)] for i in fit_table.image_ids[scored].tolist()], dtype=np.int64)
        metrics.update(gold_score(result.labels[scored], truth).as_metrics())
    accuracy = annotator_accuracy(fit_table, result.labels)
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
            fit_table.annotator_ids.tolist(),
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
            posterior=[round(p, 6) for p in posterior],
            distribution=[round(p, 6) for p in dist],
            counts=counts,
            difficulty=None if difficulty is None else float(difficulty[j]),
            subset=str(part.subset[n]),
            subset_label=str(part.name[n]),
            split=str(part.split[n]),
        )
        for n, (j, image_id, label, posterior, dist, counts) in enumerate(
            zip(
                counted.tolist(),
                fit_table.image_ids[counted].tolist(),
                result.labels[counted].tolist(),
                result.posterior[counted].tolist(),
                result.distribution[counted].tolist(),
                result.counts[counted].tolist(),
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
