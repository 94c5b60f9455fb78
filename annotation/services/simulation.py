"""Simulated crowds inside the platform, for demos and load tests (``manage.py simulate_votes``).

Creates simulated annotators (``AnnotatorProfile.simulated``, qualified for the project) and
bulk-inserts votes drawn by :func:`reliability.simulation.simulate_crowd` on the project's ready,
non-gold images, keeping ``Image.counted_votes`` equal to the counted votes and within
``votes_wanted`` (slots held by live reservations are left free).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from annotation.errors import ServiceError
from annotation.models import AnnotatorProfile, Image, ImageStatus, Project, Qualification, Vote
from annotation.permissions import ANNOTATOR
from reliability.simulation import simulate_crowd


@dataclass(frozen=True)
class SimulationOutcome:
    annotators_created: int
    images: int
    votes: int


def votes_simulate(
    *,
    project: Project,
    annotators: int = 30,
    votes_per_image: int | None = None,
    spammers: float = 0.05,
    adversarial: float = 0.0,
    seed: int = 0,
    true_labels: Mapping[int, int] | None = None,
    confusion: np.ndarray | None = None,
    compound_fraction: float = 0.2,
) -> SimulationOutcome:
    """Create simulated annotators and their votes (see the module docstring).

    ``true_labels`` (image id -> class index) fixes the true class of known photos; images it
    does not name get a drawn one. ``confusion`` is passed to
    :func:`reliability.simulation.simulate_crowd` (which wrong answers are likely).
    """
    per_image = votes_per_image if votes_per_image is not None else project.votes_wanted
    if annotators < 1 or per_image < 1:
        raise ServiceError("annotators and votes per image must be positive", code="invalid")
    if per_image > annotators:
        raise ServiceError("votes per image cannot exceed the number of annotators", code="invalid")
    if not (0 <= spammers <= 1 and 0 <= adversarial <= 1 and spammers + adversarial <= 1):
        raise ServiceError("spammer and adversarial fractions must lie in [0, 1] and sum to at most 1", code="invalid")
    user_model = get_user_model()
    with transaction.atomic():
        images = list(
            Image.objects.select_for_update()
            .filter(project=project, status=ImageStatus.READY, is_gold=False)
            .order_by("pk")
            .values_list("pk", "votes_wanted", "counted_votes", "reserved")
        )
        if not images:
            raise ServiceError("the project has no ready images", code="no_images")
        info = np.array(images, dtype=np.int64)  # (n_images, 4)
        capacity = np.clip(info[:, 1] - info[:, 2] - info[:, 3], 0, per_image)
        fixed = None
        if true_labels is not None:
            drawn = np.random.default_rng(seed + 1).integers(0, len(project.classes), size=info.shape[0])
            fixed = np.array([true_labels.get(int(pk), int(d)) for pk, d in zip(info[:, 0], drawn, strict=True)])
        crowd = simulate_crowd(
            n_images=info.shape[0],
            n_annotators=annotators,
            votes_per_image=per_image,
            spammer_fraction=spammers,
            adversarial_fraction=adversarial,
            compound_fraction=compound_fraction,
            classes=tuple(project.classes),
            seed=seed,
            true_label=fixed,
            confusion=confusion,
        )
        users, created = _simulated_users(project=project, count=annotators, seed=seed, user_model=user_model)
        user_ids = np.array([u.pk for u in users], dtype=np.int64)
        slot = np.tile(np.arange(per_image), info.shape[0])  # (n_votes,) vote slot within its image
        keep = slot < capacity[crowd.image]
        vote_user = user_ids[crowd.annotator[keep]]
        vote_image = info[crowd.image[keep], 0]
        vote_label = crowd.label[keep]
        # Users reused from an earlier run with the same seed may already have voted on an image.
        existing = np.fromiter(
            (
                value
                for pair in Vote.objects.filter(annotator_id__in=user_ids.tolist(), image__project=project)
                .order_by()
                .values_list("annotator_id", "image_id")
                .iterator(chunk_size=20_000)
                for value in pair
            ),
            dtype=np.int64,
        ).reshape(-1, 2)
        if existing.shape[0]:
            span = int(max(vote_image.max(initial=0), existing[:, 1].max()) + 1)
            fresh = ~np.isin(vote_user * span + vote_image, existing[:, 0] * span + existing[:, 1])
            vote_user, vote_image, vote_label = vote_user[fresh], vote_image[fresh], vote_label[fresh]
        rng = np.random.default_rng(seed)
        time_taken = rng.lognormal(np.log(3000), 0.5, size=vote_label.shape[0]).astype(np.int64)
        _insert_votes(vote_user, vote_image, vote_label, time_taken)
        # Counted votes per touched image: one UPDATE per distinct increment (at most K of them).
        touched, added = np.unique(vote_image, return_counts=True)
        for increment in np.unique(added):
            ids = touched[added == increment].tolist()
            Image.objects.filter(pk__in=ids).update(counted_votes=F("counted_votes") + int(increment))
    return SimulationOutcome(annotators_created=created, images=int(touched.shape[0]), votes=int(vote_label.shape[0]))


def _simulated_users(*, project: Project, count: int, seed: int, user_model: type) -> tuple[list, int]:
    """The ``count`` simulated, qualified annotators for ``(project, seed)``, created if missing."""
    names = [f"sim-p{project.pk}-s{seed}-{i:04d}" for i in range(count)]
    existing = {u.username: u for u in user_model.objects.filter(username__in=names)}
    new = [user_model(username=name) for name in names if name not in existing]
    for user in new:
        user.set_unusable_password()
    user_model.objects.bulk_create(new, batch_size=1000)
    users = list(user_model.objects.filter(username__in=names).order_by("username"))
    created_ids = [u.pk for u in users if u.username not in existing]
    AnnotatorProfile.objects.bulk_create(
        [AnnotatorProfile(user_id=pk, simulated=True) for pk in created_ids], batch_size=1000
    )
    group, _ = Group.objects.get_or_create(name=ANNOTATOR)
    group.user_set.add(*created_ids)
    now = timezone.now()
    Qualification.objects.bulk_create(
        [Qualification(annotator_id=u.pk, project=project, tutorial_read_at=now, qualified_at=now) for u in users],
        ignore_conflicts=True,
        batch_size=1000,
    )
    Qualification.objects.filter(project=project, annotator__in=users, qualified_at__isnull=True).update(
        qualified_at=now
    )
    return users, len(created_ids)


def _insert_votes(user: np.ndarray, image: np.ndarray, label: np.ndarray, time_taken: np.ndarray) -> None:
    """Insert counted votes from aligned ``(n,)`` arrays: ``COPY`` (about ten times
    faster than ``bulk_create`` at RAF scale)."""
    now = timezone.now().isoformat()
    columns = "annotator_id, image_id, label, time_taken_ms, counted, late, is_gold, created_at"
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {Vote._meta.db_table} ({columns}) FROM STDIN") as copy,
    ):
        for start in range(0, label.shape[0], 50_000):
            stop = start + 50_000
            rows = zip(
                user[start:stop].tolist(),
                image[start:stop].tolist(),
                label[start:stop].tolist(),
                time_taken[start:stop].tolist(),
                strict=True,
            )
            copy.write("".join(f"{u}\t{i}\t{lab}\t{t}\tt\tf\tf\t{now}\n" for u, i, lab, t in rows))
