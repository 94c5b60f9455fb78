"""Training runs: DLP-CNN trained on a reliability run's subset, on the ``gpu`` queue.

``training_run_start`` validates the request and enqueues ``annotation.tasks.training_run_execute``
(routed to the ``gpu`` queue by its name). The task exports the subset as a manifest folder
(aligned grey faces + ``manifest.csv``), trains with :mod:`training.train` (progress, loss and
ETA through the job; cancellable at each log line), evaluates, draws figures, exports
TorchScript and ONNX with a model card, and stores every artefact through Django's storage.
Checkpoints are stored too, so a task redelivered after its worker was killed resumes from
the last checkpoint, on the same machine (local work folder) or another (from storage).
"""

from __future__ import annotations

import csv
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction

from annotation.errors import ServiceError
from annotation.models import Face, ImageReliability, JobStatus, Project, ReliabilityRun, TrainingRun
from annotation.services.jobs import JobReporter, job_cancel, job_create, job_enqueue, job_set_result

JOB_KIND = "training"
# A small CPU training: the DLP-CNN recipe at toy size (narrow layers, LP loss over the batch,
# 120 iterations), so it finishes in a minute or two on 2 cores. It is the demo's model (predict
# works out of the box) and the runs page's "Small" preset. Only existing training options: when
# training/ ships its own documented CPU configuration, point this name at it.
SMALL_CPU_TRAINING_CONFIG = {
    "loss": "lp",
    "neighbours": "batch",
    "k": 3,
    "iters": 120,
    "batch_size": 16,
    "lr_steps": [90],
    "channels": [8, 8, 16, 16, 32, 32],
    "feature_dim": 32,
    "eval_every": 0,
    "checkpoint_every": 50,
    "device": "cpu",
}
# Fewer training images than this make a run that says nothing; the start refuses it.
MIN_TRAINING_IMAGES = 10
SUBSETS = ("basic", "compound")
# Set by the service, never by the request: where data and outputs live on the worker.
RESERVED_CONFIG = ("data", "out", "progress", "subset")
# Files of RUN/ stored as artefacts (key -> path inside the run folder).
ARTEFACT_FILES = {
    "model": "model.pt",
    "config": "config.json",
    "metrics_log": "metrics.jsonl",
    "eval": "eval.json",
    "torchscript": "export/model.torchscript.pt",
    "onnx": "export/model.onnx",
    "model_card": "export/model_card.json",
    "model_card_md": "export/model_card.md",
}


def _storage_prefix(run: TrainingRun) -> str:
    return f"training/{run.project_id}/{run.pk}"


def work_dir(run: TrainingRun) -> Path:
    """The worker's local folder of a run; ``created_at`` keeps reused ids (tests) apart."""
    base = Path(getattr(settings, "TRAINING_WORK_DIR", "") or Path(tempfile.gettempdir()) / "raf-training")
    return base / f"run_{run.pk}_{run.created_at:%Y%m%d%H%M%S%f}"


def _training_config(overrides: dict[str, Any], subset: str) -> dict[str, Any]:
    from training.config import TrainConfig

    if not isinstance(overrides, dict):
        raise ServiceError("config must be an object of training settings", code="invalid_config")
    reserved = sorted(set(overrides) & set(RESERVED_CONFIG))
    if reserved:
        raise ServiceError(f"config may not set {', '.join(reserved)}", code="invalid_config", details=reserved)
    try:
        config = TrainConfig.from_dict({**overrides, "subset": subset, "progress": False})
    except (TypeError, ValueError) as exc:
        raise ServiceError(f"invalid training config: {exc}", code="invalid_config") from exc
    values = config.to_dict()
    for name in ("data", "out"):
        values.pop(name)
    if "log_every" not in overrides and values["device"] == "cpu":
        # Progress, and with it cancellation, is checked at each log line. On a CPU an iteration
        # can take seconds, so every iteration logs and a cancel takes effect within one; on a GPU
        # the default (20 iterations, well under a second) keeps the loop free of per-step syncs.
        values["log_every"] = 1
    return values


def _usable_rows(reliability_run: ReliabilityRun, subset: str) -> list[tuple[ImageReliability, Face]]:
    """The run's images of ``subset`` with a split and an aligned main face, in image order."""
    rows = list(
        ImageReliability.objects.filter(run=reliability_run, subset=subset, split__in=["train", "test"]).order_by(
            "image_id"
        )
    )
    faces = {
        face.image_id: face
        for face in Face.objects.filter(image_id__in=[r.image_id for r in rows], is_main=True).exclude(aligned_grey="")
    }
    return [(row, faces[row.image_id]) for row in rows if row.image_id in faces]


def training_run_start(
    *,
    project: Project,
    reliability_run: ReliabilityRun | None = None,
    subset: str = "basic",
    config: dict[str, Any] | None = None,
    created_by: AbstractBaseUser | None,
    make_current: bool = False,
) -> TrainingRun:
    """Create a TrainingRun on ``reliability_run`` (default: the project's current run) and enqueue it.

    ``make_current``: the finished run becomes the project's current model (the demo's run)."""
    if reliability_run is None:
        reliability_run = ReliabilityRun.objects.filter(project=project, is_current=True).first()
        if reliability_run is None:
            raise ServiceError(
                "The project has no current reliability run to train on.", code="no_reliability_run", status_code=409
            )
    if reliability_run.project_id != project.pk:
        raise ServiceError("That reliability run belongs to another project.", code="invalid_reliability_run")
    if not reliability_run.succeeded:
        raise ServiceError("That reliability run has not succeeded.", code="invalid_reliability_run")
    if subset not in SUBSETS:
        raise ServiceError(f"subset must be one of {', '.join(SUBSETS)}", code="invalid_subset")
    values = _training_config(config or {}, subset)
    training_subset_check(reliability_run=reliability_run, subset=subset)
    with transaction.atomic():
        params = {"subset": subset, "make_current": bool(make_current)}
        job = job_create(kind=JOB_KIND, project=project, created_by=created_by, params=params)
        run = TrainingRun.objects.create(
            project=project,
            reliability_run=reliability_run,
            subset=subset,
            job=job,
            config=values,
            created_by=created_by,
        )
        job.params = {**job.params, "training_run": run.pk}
        job.save(update_fields=["params"])
        from annotation.tasks import training_run_execute_task

        job_enqueue(job=job, task=training_run_execute_task, args=(run.pk,), queue="gpu")
    return run


def training_subset_check(*, reliability_run: ReliabilityRun, subset: str) -> None:
    """Refuse, with a sentence, a subset a classifier cannot learn from: no training images,
    fewer than ``MIN_TRAINING_IMAGES`` of them, or fewer than two classes."""
    train = [row for row, _ in _usable_rows(reliability_run, subset) if row.split == "train"]
    classes = {row.label if subset == "basic" else row.subset_label for row in train}
    where = f"The {subset} subset of reliability run {reliability_run.pk}"
    if not train:
        raise ServiceError(
            f"{where} has no training images with an aligned face; collect more votes or wait for face "
            "detection, then recompute reliability.",
            code="no_training_images",
            status_code=409,
        )
    if len(classes) < 2:
        raise ServiceError(
            f"{where} has training images of only one class; a classifier needs at least two. "
            "Collect more votes on other expressions, or lower the minimum class size, and recompute reliability.",
            code="one_class",
            status_code=409,
        )
    if len(train) < MIN_TRAINING_IMAGES:
        raise ServiceError(
            f"{where} has {len(train)} training images with an aligned face; training needs at least "
            f"{MIN_TRAINING_IMAGES}.",
            code="too_few_images",
            status_code=409,
        )


def training_run_cancel(*, run: TrainingRun) -> TrainingRun:
    """Ask the run's job to stop (at its next progress report)."""
    if run.job is None or run.job.status not in (JobStatus.QUEUED, JobStatus.RUNNING):
        raise ServiceError("The training run is not queued or running.", code="not_running", status_code=409)
    job_cancel(job=run.job)
    return run


def training_run_set_current(*, run: TrainingRun) -> Project:
    """Make ``run`` the model that ``POST /api/v1/predict`` serves for its project."""
    if run.job is None or run.job.status != JobStatus.SUCCEEDED or "onnx" not in run.artefacts:
        raise ServiceError("Only a finished training run with an exported model can be current.", code="not_ready")
    Project.objects.filter(pk=run.project_id).update(current_model=run)
    project = Project.objects.get(pk=run.project_id)
    return project


def export_manifest(run: TrainingRun, folder: Path) -> Path:
    """Write the run's subset as aligned grey images + ``manifest.csv`` (``path,label,split[,p_<class>]``).

    Basic labels are class names of the project with the distribution columns; compound labels
    are the compound class names (``subset_label``). Written into a temporary folder and renamed,
    so a half-written export is never used.
    """
    rows = _usable_rows(run.reliability_run, run.subset)
    classes = list(run.project.classes)
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    (partial / "images").mkdir(parents=True)
    header = ["path", "label", "split"]
    with_distribution = run.subset == "basic"
    if with_distribution:
        header += [f"p_{name}" for name in classes]
    with (partial / "manifest.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row, face in rows:
            suffix = Path(face.aligned_grey.name).suffix or ".png"
            relative = f"images/{row.image_id}{suffix}"
            with face.aligned_grey.open("rb") as source, (partial / relative).open("wb") as target:
                shutil.copyfileobj(source, target)
            label = classes[row.label] if with_distribution else row.subset_label
            line = [relative, label, row.split]
            if with_distribution:
                line += [f"{float(p):.6f}" for p in row.distribution]
            writer.writerow(line)
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    return folder / "manifest.csv"


def _store(run: TrainingRun, key: str, path: Path) -> str:
    """Save ``path`` as ``training/<project>/<run>/<name>``, replacing an earlier version."""
    name = f"{_storage_prefix(run)}/{path.name}"
    if default_storage.exists(name):
        default_storage.delete(name)
    with path.open("rb") as handle:
        stored = default_storage.save(name, File(handle, name=path.name))
    run.artefacts = {**run.artefacts, key: stored}
    TrainingRun.objects.filter(pk=run.pk).update(artefacts=run.artefacts)
    return stored


def _format_eta(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    return (
        f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"
    )


def training_run_discard_if_stopped(*, run_id: int) -> bool:
    """Delete the checkpoint (from storage) and the local work folder of a run whose job failed
    or was cancelled: only a run that may resume needs them. True when something was stopped."""
    run = TrainingRun.objects.select_related("job").filter(pk=run_id).first()
    if run is None or run.job is None or run.job.status not in (JobStatus.FAILED, JobStatus.CANCELLED):
        return False
    stored = run.artefacts.pop("checkpoint", None)
    if stored:
        default_storage.delete(stored)
        TrainingRun.objects.filter(pk=run.pk).update(artefacts=run.artefacts)
    shutil.rmtree(work_dir(run), ignore_errors=True)
    return True


def training_run_execute(*, run: TrainingRun, reporter: JobReporter) -> TrainingRun:
    """The task body: export, train (resuming from the last checkpoint), evaluate, export, store."""
    from training.config import TrainConfig
    from training.datasets import load_dataset
    from training.evaluate import evaluate_run, summary
    from training.export import export_model
    from training.figures import make_figures
    from training.train import CHECKPOINT, train

    folder = work_dir(run)
    data_dir, run_dir = folder / "data", folder / "run"
    reporter(0.0, "Exporting the training set", force=True)
    manifest = data_dir / "manifest.csv"
    if not manifest.exists():
        export_manifest(run, data_dir)
    if "manifest" not in run.artefacts:
        _store(run, "manifest", manifest)
    dataset = load_dataset(manifest, subset=run.subset)
    run_dir.mkdir(parents=True, exist_ok=True)
    if not (run_dir / CHECKPOINT).exists() and run.artefacts.get("checkpoint"):
        # Redelivered to another machine: continue from the stored checkpoint.
        with (
            default_storage.open(run.artefacts["checkpoint"], "rb") as source,
            (run_dir / CHECKPOINT).open("wb") as out,
        ):
            shutil.copyfileobj(source, out)
    config = TrainConfig.from_dict({**run.config, "data": str(manifest), "out": str(run_dir), "progress": False})
    started, first_iteration = time.monotonic(), None

    def on_log(record: Any, total: int) -> None:
        nonlocal first_iteration
        if first_iteration is None:
            first_iteration = record.iteration - config.log_every
        done = record.iteration - first_iteration
        rate = done / max(time.monotonic() - started, 1e-9)
        eta = _format_eta((total - record.iteration) / rate) if rate > 0 else "?"
        # The bar is the share of the work done: training is about 90% of a run.
        reporter(
            0.9 * record.iteration / total,
            f"iteration {record.iteration:,} of {total:,} · loss {record.loss:.4f} · about {eta} left",
        )

    # Until the first figures (every log_every iterations: minutes for the paper recipe on a CPU)
    # the page says that training has started, not the export that finished.
    reporter(
        0.0,
        f"Training ({config.iters:,} iterations); progress every {config.log_every:,} "
        + ("iteration" if config.log_every == 1 else "iterations"),
        force=True,
    )
    result = train(
        config,
        dataset,
        resume=True,
        on_log=on_log,
        on_checkpoint=lambda path, iteration: _store(run, "checkpoint", path),
        extra={"reliability_run": run.reliability_run_id, "training_run": run.pk, "project": run.project_id},
    )
    reporter(0.9, "Evaluating", force=True)
    evaluation = evaluate_run(run_dir, dataset)
    figures = make_figures([run_dir], run_dir / "figures", embedding="tsne")
    reporter(0.95, "Exporting the model", force=True)
    export_model(run_dir, "torchscript")
    export_model(run_dir, "onnx")
    for key, relative in ARTEFACT_FILES.items():
        if (run_dir / relative).exists():
            _store(run, key, run_dir / relative)
    for path in [*figures, *sorted(run_dir.glob("confusion_*.png"))]:
        _store(run, f"plot_{path.stem}", path)
    run.metrics = {"iterations": result.iterations, "softmax_validation": result.metrics, **summary(evaluation)}
    TrainingRun.objects.filter(pk=run.pk).update(metrics=run.metrics)
    job_set_result(job_id=run.job_id, result={"training_run": run.pk, **run.metrics}, message="Finished")
    if run.job is not None and run.job.params.get("make_current") and "onnx" in run.artefacts:
        Project.objects.filter(pk=run.project_id).update(current_model=run)
    # The checkpoint (optimizer state and feature bank) is only needed to resume.
    stored_checkpoint = run.artefacts.pop("checkpoint", None)
    if stored_checkpoint:
        default_storage.delete(stored_checkpoint)
        TrainingRun.objects.filter(pk=run.pk).update(artefacts=run.artefacts)
    shutil.rmtree(folder, ignore_errors=True)
    return run
