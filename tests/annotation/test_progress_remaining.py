"""Left for you": the project's images that still need votes, less those already served to the
annotator, plus the annotator's open reservations; counted in one prepared statement."""

from __future__ import annotations

import pytest
from django.utils import timezone

from annotation.models import Assignment, ImageStatus
from annotation.models.assignment import AssignmentStatus
from annotation.services import progress
from tests.annotation.factories import make_annotator, make_gold, make_images, make_project

pytestmark = [pytest.mark.django_db]


def test_left_for_you_counts_needing_images_not_yet_served_plus_open_reservations(monkeypatch):
    monkeypatch.setattr(progress, "REMAINING_CACHE_S", 0)
    project = make_project(gold_rate=0.0, votes_wanted=2)
    needing = make_images(project, 6)
    full = make_images(project, 2, counted_votes=2)
    make_images(project, 2, status=ImageStatus.REJECTED)
    gold = make_gold(project, 2)
    annotator = make_annotator(project)
    other = make_annotator(project)
    now = timezone.now()

    def serve(user, image, status):
        Assignment.objects.create(
            image=image, annotator=user, status=status, is_gold=image.is_gold, created_at=now, expires_at=now
        )

    # Project-wide: 6 images still need votes.
    assert progress._count_remaining(project) == 6
    serve(annotator, needing[0], AssignmentStatus.VOTED)  # served, still needs votes: not left for them
    serve(annotator, needing[1], AssignmentStatus.OPEN)  # reserved for them now: left (theirs to answer)
    needing[1].reserved = 1
    needing[1].save(update_fields=["reserved"])
    serve(annotator, full[0], AssignmentStatus.VOTED)  # full: not among the 6 anyway
    serve(annotator, gold[0], AssignmentStatus.OPEN)  # gold checks are not counted
    serve(other, needing[2], AssignmentStatus.VOTED)  # someone else's: changes nothing for them

    # needing[1] is full once its reservation counts (counted 0 + reserved 1 < 2: still needs one).
    assert progress._count_remaining(project) == 6
    # 6 needing - 2 served among them (needing[0], needing[1]) + 1 open reservation (needing[1]).
    assert progress._count_left_for(annotator.pk, project) == 5
    assert progress._count_left_for(other.pk, project) == 5
    assert progress.annotator_remaining(annotator_id=annotator.pk, project=project, total=1) == 5
