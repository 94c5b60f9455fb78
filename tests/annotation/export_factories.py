"""Factories for the export and RAF-DB import tests: a tiny RAF-DB layout on disk, and a
project with votes, faces and a succeeded reliability run."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile

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
from reliability.classes import BASIC_EMOTIONS, COMPOUND_BENCHMARK
from training import rafdb_layout as layout


def jpeg(seed: int, size: tuple[int, int] = (80, 96)) -> bytes:
    """A smooth colour image (gradients, a blob) that JPEG re-encoding keeps close."""
    rng = np.random.default_rng(seed)
    h, w = size
    y, x = np.mgrid[0:h, 0:w]
    cx, cy = rng.uniform(0.3, 0.7) * w, rng.uniform(0.3, 0.7) * h
    blob = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * (0.2 * w) ** 2))
    channels = [rng.uniform(40, 200) + 50 * blob + rng.uniform(-30, 30) * x / w for _ in range(3)]
    pixels = np.clip(np.stack(channels, axis=-1), 0, 255).astype(np.uint8)
    ok, data = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    return data.tobytes()


def landmarks(seed: int) -> list[list[float]]:
    rng = np.random.default_rng(seed)
    base = np.array([[30.0, 30.0], [62.0, 31.0], [46.0, 46.0], [34.0, 60.0], [58.0, 60.0]])
    return (base + rng.uniform(-2, 2, size=base.shape)).round(2).tolist()


def write_rafdb_layout(root: Path, *, basic: int = 6, compound: int = 3, seed: int = 0) -> Path:
    """A RAF-DB release copy: ``basic`` and ``compound`` images, 2/3 train, with every file kind."""
    rng = np.random.default_rng(seed)
    for subset, n, n_classes in (("basic", basic, 7), ("compound", compound, 11)):
        if n == 0:
            continue
        base = root / subset
        for folder in (layout.ORIGINAL_DIR, layout.ALIGNED_DIR, layout.MANUAL_DIR, layout.BOX_DIR, "EmoLabel"):
            (base / folder).mkdir(parents=True, exist_ok=True)
        n_train = max(1, (2 * n) // 3)
        names = [layout.raf_name(subset=subset, split="train", number=i + 1, count=n_train) for i in range(n_train)]
        names += [
            layout.raf_name(subset=subset, split="test", number=i + 1, count=n - n_train) for i in range(n - n_train)
        ]
        label_lines, dist_lines = [], []
        for i, name in enumerate(names):
            code = 1000 * (subset == "compound") + i + 1000 * seed
            (base / layout.ORIGINAL_DIR / name).write_bytes(jpeg(code))
            (base / layout.ALIGNED_DIR / layout.aligned_name(name)).write_bytes(jpeg(code + 50_000, (100, 100)))
            points = landmarks(code)
            manual = layout.manual_text(
                points, int(rng.integers(0, 3)), int(rng.integers(0, 3)), int(rng.integers(0, 5))
            )
            (base / layout.MANUAL_DIR / layout.manual_name(name)).write_text(manual)
            (base / layout.BOX_DIR / layout.box_name(name)).write_text(layout.box_text(10.5, 12.25, 80.0, 75.75))
            label_lines.append(layout.label_line(name, int(rng.integers(1, n_classes + 1))))
            p = rng.dirichlet(np.ones(7))
            p = np.round(p, 4)
            p[-1] = round(1.0 - p[:-1].sum(), 4)
            dist_lines.append(layout.distribution_line(name, np.abs(p).tolist()))
        # RAF-DB lists train then test; shuffle to prove the split comes from the name.
        order = rng.permutation(len(label_lines))
        (base / layout.LABEL_FILE).write_text("".join(label_lines[i] for i in order))
        # Beside the subset folder's EmoLabel/ (some copies), not where the export writes it.
        (base / f"distribution_{subset}.txt").write_text("".join(dist_lines))
    return root


def user(username: str, *roles: str):
    account = get_user_model().objects.create_user(username=username, email=f"{username}@example.org", password=None)
    for role in roles:
        account.groups.add(Group.objects.get_or_create(name=role)[0])
    return account


def make_image(project: Project, seed: int, *, with_face: bool = True, aligned: bool = False) -> Image:
    data = jpeg(seed)
    image = Image(
        project=project,
        sha256=hashlib.sha256(data).hexdigest(),
        size_bytes=len(data),
        width=96,
        height=80,
        votes_wanted=project.votes_wanted,
        status="ready",
    )
    image.file.save(f"{seed}.jpg", ContentFile(data), save=False)
    image.save()
    if with_face:
        face = Face(
            image=image,
            is_main=True,
            x1=5,
            y1=6,
            x2=90,
            y2=78,
            landmarks=landmarks(seed),
            gender=1,
            race=2,
            age_range=2,
        )
        if aligned:
            face.aligned.save("aligned.jpg", ContentFile(jpeg(seed + 7, (100, 100))), save=False)
        face.save()
    return image


def project_with_run(*, images: int = 8, annotators: int = 4, seed: int = 0) -> tuple[Project, ReliabilityRun]:
    """A project whose current run puts images in basic/compound/none, with counted votes."""
    rng = np.random.default_rng(seed)
    project = Project.objects.create(name=f"exported {seed}", licence_text="CC BY-NC 4.0 for research.")
    people = [user(f"alice{seed}_{i}", "annotator") for i in range(annotators)]
    run = ReliabilityRun.objects.create(
        project=project,
        method="glad",
        params={"max_iter": 100},
        metrics={"cronbach_alpha": 0.93, "kept": annotators},
        succeeded=True,
        is_current=True,
    )
    for i in range(images):
        image = make_image(project, seed * 1000 + i, with_face=i % 4 != 3, aligned=i % 2 == 0)
        labels = rng.integers(0, 7, size=annotators)
        for person, label in zip(people, labels, strict=True):
            Vote.objects.create(image=image, annotator=person, label=int(label), time_taken_ms=1200 + i)
        counts = np.bincount(labels, minlength=7)
        distribution = (counts / counts.sum()).tolist()
        subset = ("basic", "basic", "compound", "")[i % 4] if i < 7 else "basic"
        subset_label = {"basic": BASIC_EMOTIONS[int(counts.argmax())], "compound": COMPOUND_BENCHMARK[i % 11], "": ""}[
            subset
        ]
        ImageReliability.objects.create(
            run=run,
            image=image,
            label=int(counts.argmax()),
            distribution=distribution,
            counts=counts.tolist(),
            subset=subset,
            subset_label=subset_label,
            split="test" if i % 3 == 2 else "train",
        )
    Image.objects.filter(project=project).update(counted_votes=annotators)
    for i, person in enumerate(people):
        AnnotatorReliability.objects.create(
            run=run, annotator=person, reliability=1.0 + i / 10, kept=i > 0, votes=images
        )
        Qualification.objects.create(annotator=person, project=project, gold_seen=10, gold_correct=8)
    return project, run
