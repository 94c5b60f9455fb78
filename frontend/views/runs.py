"""Reliability and training run pages for researchers and admins.

- ``/projects/<id>/runs/``: the project's reliability runs (the current one marked) and
  training runs; admins recompute reliability from here (``static/frontend/recompute.js``).
- ``/reliability-runs/<id>/``: metrics, class counts per subset, the per-annotator table, dataset
  exports and the training form (``static/frontend/reliability_run.js``).
- ``/training-runs/<id>/``: status, progress, metrics, plots, downloads, cancel and "set as
  current model" (``static/frontend/training_run.js``).

The pages only read; every change goes through the JSON API, which checks the roles again.
"""

from __future__ import annotations

import json
import mimetypes
from pathlib import PurePosixPath
from typing import Any

from django.core.files.storage import default_storage
from django.db.models import Count
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import ensure_csrf_cookie

from annotation.models import DatasetExport, ImageReliability, Job, JobStatus, Project, ReliabilityRun, TrainingRun
from annotation.permissions import ADMIN, RESEARCHER, has_role
from annotation.selectors.reliability import reliability_run_annotators, reliability_run_list
from annotation.selectors.training import training_run_list
from annotation.services.exports import export_download_link
from annotation.services.training import SMALL_CPU_TRAINING_CONFIG
from frontend.access import page, role_required

ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)
# Training settings offered by the form (the API accepts every TrainConfig field).
LOSSES = (("lp", "Locality-preserving (DLP-CNN)"), ("center", "Centre loss"), ("softmax", "Softmax only"))
# Artefacts offered for download on the training run page, in this order (key, label).
DOWNLOADS = (
    ("onnx", "ONNX model"),
    ("torchscript", "TorchScript model"),
    ("model_card_md", "Model card"),
    ("eval", "Evaluation (eval.json)"),
    ("metrics_log", "Training log (metrics.jsonl)"),
    ("config", "Configuration"),
    ("manifest", "Training manifest"),
)


# A run with one of these artefacts has a model zip to offer.
MODEL_FILES = {"model", "onnx", "torchscript"}


def job_view(job: Job | None, *, succeeded: bool | None = None) -> dict[str, Any]:
    """Status, progress and message of a job as the templates show them."""
    if succeeded:
        return {
            "id": job.pk if job else None,
            "status": "succeeded",
            "progress": 1.0,
            "message": job.message if job else "",
        }
    if job is None:
        return {"id": None, "status": "failed", "progress": 0.0, "message": "the job record is gone"}
    message = job.message
    if job.status == JobStatus.FAILED and not message:
        message = (job.error.strip().splitlines() or [""])[-1]
    return {"id": job.pk, "status": job.status, "progress": job.progress, "message": message}


def figure(value: Any) -> str:
    """A metric as people read it: floats to 4 significant digits, yes/no, lists joined."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        return ", ".join(figure(v) for v in value) or "none"
    if isinstance(value, dict):
        return ", ".join(f"{k}={figure(v)}" for k, v in sorted(value.items())) or "defaults"
    return str(value)


# How the pages name metrics and settings; other keys read as words ("snake_case" -> "Snake case").
LABELS = {
    "annotators": "Annotators",
    "annotators_kept": "Annotators kept",
    "cronbach_alpha": "Cronbach's alpha",
    "krippendorff_alpha": "Krippendorff's alpha",
    "basic": "Basic subset images",
    "compound": "Compound subset images",
    "dropped_classes": "Classes dropped (too few images)",
    "min_votes": "Minimum counted votes per image",
    "left_out_few_votes": "Images left out (too few votes)",
    "min_class_size": "Minimum images per class",
    "keep_fraction": "Share of annotators kept",
    "test_fraction": "Share of images in test",
    "iters": "Iterations",
    "iterations": "Iterations",
    "lr": "Learning rate",
    "lambda_": "Loss weight λ",
    "k": "LP neighbours k",
    "batch_size": "Batch size",
}


def label_of(key: str) -> str:
    """A metric or setting name as people read it."""
    if key in LABELS:
        return LABELS[key]
    words = key.replace("_", " ").strip()
    for short, long in (("svm", "SVM"), ("lda", "LDA"), ("em", "EM"), ("lp", "LP"), ("softmax", "softmax")):
        words = " ".join(long if w == short else w for w in words.split(" "))
    return words[:1].upper() + words[1:]


def figures(values: dict[str, Any] | None) -> list[tuple[str, str, str]]:
    """``(key, label, value)`` rows of a metrics or settings dict, sorted by key."""
    return [(key, label_of(key), figure(value)) for key, value in sorted((values or {}).items())]


def left_out_sentence(run: ReliabilityRun) -> str:
    """How many images the run left out of the subsets for having too few counted votes."""
    metrics = run.metrics or {}
    left, minimum = metrics.get("left_out_few_votes"), metrics.get("min_votes")
    if not run.succeeded or left is None or minimum is None:
        return ""
    images = "image" if left == 1 else "images"
    votes = "vote" if minimum == 1 else "votes"
    if not left:
        return f"Every image had at least {minimum} counted {votes} (the project's minimum), so none was left out."
    return (
        f"{left} {images} had fewer than {minimum} counted {votes} (the project's minimum) and "
        f"{'was' if left == 1 else 'were'} left out of the subsets."
    )


# What each estimator is, for the run page (the method names are reliability.pipeline.METHODS).
METHOD_NAMES = {
    "hds": "hierarchical Dawid-Skene (default)",
    "glad": "GLAD (the paper's estimator)",
    "ds": "Dawid-Skene",
    "onecoin": "one-coin Dawid-Skene",
    "mace": "MACE",
    "mv": "majority vote",
    "wawa": "weighted majority vote (Wawa)",
}


def gold_summary(metrics: dict[str, Any] | None) -> str | None:
    """The run's accuracy on the project's gold images with its 95% interval, as one phrase;
    None when the run scored no gold image (the page says why)."""
    metrics = metrics or {}
    n, accuracy, interval = metrics.get("gold_images"), metrics.get("gold_accuracy"), metrics.get("gold_accuracy_ci95")
    if not n or accuracy is None or not interval:
        return None
    low, high = interval
    return f"{accuracy:.1%} of {n} gold images (95% CI {low:.1%} to {high:.1%})"


def gold_missing_reason(metrics: dict[str, Any] | None) -> str:
    """Why a run has no gold accuracy: runs made before gold scoring have no ``gold_votes``."""
    return "no votes on gold images" if "gold_votes" in (metrics or {}) else "run made before gold scoring"


def reliability_row(run: ReliabilityRun) -> dict[str, Any]:
    metrics = run.metrics or {}
    return {
        "run": run,
        "job": job_view(run.job, succeeded=run.succeeded),
        "annotators": metrics.get("annotators"),
        "annotators_kept": metrics.get("annotators_kept"),
        "cronbach_alpha": metrics.get("cronbach_alpha"),
        "krippendorff_alpha": metrics.get("krippendorff_alpha"),
        "basic": metrics.get("basic"),
        "compound": metrics.get("compound"),
    }


def training_row(run: TrainingRun, current_model_id: int | None) -> dict[str, Any]:
    metrics = run.metrics or {}
    return {
        "run": run,
        "job": job_view(run.job),
        "loss": run.config.get("loss", ""),
        "iters": run.config.get("iters"),
        "mean_diagonal": metrics.get(f"{run.subset}_softmax_mean_diagonal"),
        "accuracy": metrics.get(f"{run.subset}_softmax_accuracy"),
        "is_current": run.pk == current_model_id,
    }


@role_required(RESEARCHER)
@ensure_csrf_cookie
def project_runs(request: HttpRequest, project_id: int) -> HttpResponse:
    project = get_object_or_404(Project, pk=project_id)
    runs = [reliability_row(run) for run in reliability_run_list(project=project)[:50]]
    trainings = [training_row(run, project.current_model_id) for run in training_run_list(project=project)[:50]]
    active = next((row for row in runs if row["job"]["status"] in ACTIVE), None)
    return page(
        request,
        "runs.html",
        {"project": project, "runs": runs, "trainings": trainings, "active": active, "project_nav": "runs"},
    )


def subset_class_counts(run: ReliabilityRun) -> list[dict[str, Any]]:
    """Images per subset and class, split into train and test (the partition of PAPER.md 7)."""
    counts: dict[tuple[str, str], dict[str, int]] = {}
    rows = (
        ImageReliability.objects.filter(run=run)
        .values("subset", "subset_label", "split")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rows:
        cell = counts.setdefault((row["subset"], row["subset_label"]), {"train": 0, "test": 0, "total": 0})
        if row["split"] in ("train", "test"):
            cell[row["split"]] += row["n"]
        cell["total"] += row["n"]
    order = {"basic": 0, "compound": 1, "": 2}
    return [
        {"subset": subset or "none", "name": name or "–", **cell}
        for (subset, name), cell in sorted(counts.items(), key=lambda item: (order.get(item[0][0], 3), item[0][1]))
    ]


def export_rows(run: ReliabilityRun) -> list[dict[str, Any]]:
    exports = (
        DatasetExport.objects.filter(run=run, kind="dataset")
        .select_related("job", "created_by")
        .order_by("-created_at")[:20]
    )
    rows = []
    for export in exports:
        job = job_view(export.job) if export.job else {"status": "succeeded", "progress": 1.0, "message": ""}
        link = export_download_link(export=export) if job["status"] == JobStatus.SUCCEEDED else None
        rows.append({"export": export, "job": job, "link": link})
    return rows


@role_required(RESEARCHER)
@ensure_csrf_cookie
def reliability_run_page(request: HttpRequest, run_id: int) -> HttpResponse:
    run = get_object_or_404(ReliabilityRun.objects.select_related("project", "job"), pk=run_id)
    project = run.project
    annotators = list(reliability_run_annotators(run=run)[:500])
    trainings = [
        training_row(t, project.current_model_id)
        for t in training_run_list(project=project).filter(reliability_run=run)[:50]
    ]
    return page(
        request,
        "reliability_run.html",
        {
            "project": project,
            "run": run,
            "row": reliability_row(run),
            "method_name": METHOD_NAMES.get(run.method, run.method),
            "gold": gold_summary(run.metrics),
            "gold_missing": gold_missing_reason(run.metrics),
            "metrics": figures(run.metrics),
            "params": figures(run.params),
            "left_out": left_out_sentence(run),
            "classes": subset_class_counts(run),
            "annotators": annotators,
            "exports": export_rows(run),
            "trainings": trainings,
            "losses": LOSSES,
            "small_config_json": json.dumps(SMALL_CPU_TRAINING_CONFIG),
            "project_nav": "runs",
        },
    )


@role_required(RESEARCHER)
@ensure_csrf_cookie
def training_run_page(request: HttpRequest, run_id: int) -> HttpResponse:
    run = get_object_or_404(TrainingRun.objects.select_related("project", "job", "reliability_run"), pk=run_id)
    artefacts = run.artefacts or {}
    plots = [
        {"key": key, "name": key.removeprefix("plot_").replace("_", " ")}
        for key in sorted(artefacts)
        if key.startswith("plot_")
    ]
    downloads = [(key, label) for key, label in DOWNLOADS if key in artefacts]
    job = job_view(run.job)
    return page(
        request,
        "training_run.html",
        {
            "project": run.project,
            "run": run,
            "job": job,
            "active": job["status"] in ACTIVE,
            "is_current": run.project.current_model_id == run.pk,
            "can_make_current": has_role(request.user, ADMIN)
            and job["status"] == JobStatus.SUCCEEDED
            and "onnx" in artefacts,
            "config": figures(run.config),
            "metrics": figures(run.metrics),
            "plots": plots,
            "downloads": downloads,
            "has_model": job["status"] == JobStatus.SUCCEEDED and bool(MODEL_FILES & set(artefacts)),
            "project_nav": "runs",
        },
    )


@role_required(RESEARCHER)
def training_run_plot(request: HttpRequest, run_id: int, key: str) -> FileResponse:
    """A plot artefact of a training run, read from storage (the storage itself is never public)."""
    run = get_object_or_404(TrainingRun, pk=run_id)
    name = (run.artefacts or {}).get(key)
    if not key.startswith("plot_") or not name or not default_storage.exists(name):
        raise Http404("no such plot")
    content_type = mimetypes.guess_type(PurePosixPath(name).name)[0] or "application/octet-stream"
    response = FileResponse(default_storage.open(name, "rb"), content_type=content_type)
    response["Cache-Control"] = "private, max-age=300"
    return response
