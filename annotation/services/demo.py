"""The demo: a project of London set photos, demo accounts for each role, a few gold images.

Idempotent: running it again changes nothing that is already in place (passwords of existing
accounts are left alone, re-imported photos are duplicates, gold images are not re-picked).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import transaction
from django.utils import timezone

from annotation.models import AnnotatorProfile, Image, ImageStatus, Project, Qualification
from annotation.permissions import ADMIN, ANNOTATOR, RESEARCHER
from annotation.services.import_sources import ImportItem
from annotation.services.imports import ImportReport, OutcomeCallback, images_import
from annotation.services.simulation import SimulationOutcome, votes_simulate
from annotation.services.training import SMALL_CPU_TRAINING_CONFIG
from annotation.signals import images_imported

DEMO_PROJECT_NAME = "Demo: London faces"
# (username, password, role): the logins `make run` prints.
DEMO_ACCOUNTS = (
    ("admin", "raf-admin-demo", ADMIN),
    ("researcher", "raf-researcher-demo", RESEARCHER),
    ("annotator", "raf-annotator-demo", ANNOTATOR),
)
# Folder -> (search keyword stored as metadata, class of its gold images).
DEMO_FOLDERS = {"neutral": ("neutral face", "neutral"), "smiling": ("smiling face", "happiness")}
GOLD_PER_FOLDER = 8
DEMO_DESCRIPTION = (
    "Posed portraits from the Face Research Lab London Set, neutral and smiling. Half the votes each face needs "
    "come from a simulated crowd; the rest is yours to give."
)
# Share of each image's wanted votes the demo simulates: the rest is work for real annotators.
SIMULATED_SHARE = 0.5
# When a simulated annotator gets a face wrong, what they answer instead: relative weights per
# true class, after the confusions people make on posed faces (a neutral face read as sad or
# angry, a smile as surprise or neutral). Classes not listed get weight 1.
DEMO_CONFUSIONS = {
    "neutral": {"sadness": 8, "anger": 4, "surprise": 2, "happiness": 2},
    "happiness": {"surprise": 6, "neutral": 6, "disgust": 1},
}
# The demo trains the platform's small CPU configuration (see annotation.services.training).
DEMO_TRAINING_CONFIG = SMALL_CPU_TRAINING_CONFIG
ATTRIBUTION = (
    "Photos: DeBruine, L., & Jones, B. (2017). Face Research Lab London Set (Version 5). figshare. "
    "doi:10.6084/m9.figshare.5047666.v5. CC BY 4.0. Downscaled to 450x450 and re-encoded."
)


def demo_photos_dir() -> Path:
    return Path(settings.BASE_DIR) / "demo" / "london"


@dataclass
class DemoSummary:
    project: Project
    accounts_created: list[str] = field(default_factory=list)
    report: ImportReport | None = None
    gold_marked: int = 0
    marked_ready: int = 0


def demo_load(*, photos_dir: Path | None = None, on_outcome: OutcomeCallback | None = None) -> DemoSummary:
    """Create (or complete) the demo project, accounts, images and gold questions."""
    photos_dir = photos_dir or demo_photos_dir()
    with transaction.atomic():
        project, _ = Project.objects.get_or_create(
            name=DEMO_PROJECT_NAME,
            defaults={"licence_text": ATTRIBUTION, "votes_wanted": 40, "description": DEMO_DESCRIPTION},
        )
        summary = DemoSummary(project=project, accounts_created=_demo_accounts(project))
    admin = User.objects.get(username=DEMO_ACCOUNTS[0][0])
    files = [(folder, path) for folder in DEMO_FOLDERS for path in sorted((photos_dir / folder).glob("*.jpg"))]
    summary.report = images_import(
        project=project, items=_demo_items(files, photos_dir), total=len(files), created_by=admin, on_outcome=on_outcome
    )
    summary.gold_marked = _demo_gold(project)
    if not images_imported.has_listeners():
        # No face detection is installed to move images on; each London photo holds exactly one
        # frontal face, so the demo serves them as they are.
        summary.marked_ready = Image.objects.filter(project=project, status=ImageStatus.NEEDS_FACE).update(
            status=ImageStatus.READY
        )
    return summary


def _demo_items(files: list[tuple[str, Path]], root: Path) -> Iterator[ImportItem]:
    for folder, path in files:
        # The source is repo-relative, so demo rows name no path of the machine that loaded them.
        yield ImportItem(f"demo/london/{path.relative_to(root).as_posix()}", DEMO_FOLDERS[folder][0], path.read_bytes())


def _demo_accounts(project: Project) -> list[str]:
    created = []
    for username, password, role in DEMO_ACCOUNTS:
        user, was_created = User.objects.get_or_create(username=username)
        if was_created:
            user.set_password(password)
            if role == ADMIN:
                user.is_superuser = user.is_staff = True
            user.save()
            created.append(username)
        user.groups.add(Group.objects.get_or_create(name=role)[0])
        AnnotatorProfile.objects.get_or_create(user=user)
        if role == ANNOTATOR:
            now = timezone.now()
            qualification, _ = Qualification.objects.get_or_create(annotator=user, project=project)
            if qualification.qualified_at is None:
                qualification.tutorial_read_at = qualification.tutorial_read_at or now
                qualification.qualified_at = now
                qualification.save(update_fields=["tutorial_read_at", "qualified_at"])
    return created


def _demo_gold(project: Project) -> int:
    """Mark the first ``GOLD_PER_FOLDER`` unvoted photos of each folder gold, once."""
    if Image.objects.filter(project=project, is_gold=True).exists():
        return 0
    marked = 0
    for folder, (_, class_name) in DEMO_FOLDERS.items():
        label = project.classes.index(class_name)
        ids = list(
            Image.objects.filter(project=project, source__startswith=f"demo/london/{folder}/", counted_votes=0)
            .order_by("source")
            .values_list("pk", flat=True)[:GOLD_PER_FOLDER]
        )
        marked += Image.objects.filter(pk__in=ids).update(is_gold=True, gold_label=label)
    return marked


def demo_true_labels(project: Project) -> dict[int, int]:
    """Image id -> the class each demo photo really shows (its folder: neutral or smiling)."""
    labels = {}
    for folder, (_, class_name) in DEMO_FOLDERS.items():
        label = project.classes.index(class_name)
        for pk in Image.objects.filter(project=project, source__startswith=f"demo/london/{folder}/").values_list(
            "pk", flat=True
        ):
            labels[pk] = label
    return labels


def demo_confusion(project: Project) -> np.ndarray:
    """``(K, K)`` wrong-answer weights for the project's classes (see ``DEMO_CONFUSIONS``)."""
    classes = list(project.classes)
    weights = np.ones((len(classes), len(classes)))
    for true_name, row in DEMO_CONFUSIONS.items():
        if true_name in classes:
            for wrong_name, weight in row.items():
                if wrong_name in classes:
                    weights[classes.index(true_name), classes.index(wrong_name)] = weight
    return weights


def demo_votes_simulate(*, project: Project) -> SimulationOutcome:
    """Half the wanted votes on every ready demo photo, following what each photo shows."""
    per_image = max(1, round(project.votes_wanted * SIMULATED_SHARE))
    return votes_simulate(
        project=project,
        annotators=per_image + 10,
        votes_per_image=per_image,
        spammers=0.05,
        true_labels=demo_true_labels(project),
        confusion=demo_confusion(project),
        compound_fraction=0.0,
    )
