from __future__ import annotations

from django.conf import settings
from django.db import models


class Vote(models.Model):
    """One annotator's label for one image: an index into the project's classes.

    ``counted`` votes make the image's distribution. A vote on an expired reservation of an
    image that no longer needs votes is kept with ``late`` set and not counted. Gold votes are
    scored against the gold label and never counted.
    """

    image = models.ForeignKey("annotation.Image", on_delete=models.CASCADE, related_name="votes")
    # No index of its own: vote_unique_annotator_image leads with annotator (each vote insert
    # maintains one index entry fewer).
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="votes", db_index=False
    )
    label = models.SmallIntegerField()
    time_taken_ms = models.PositiveIntegerField(null=True, blank=True)
    counted = models.BooleanField(default=True)
    late = models.BooleanField(default=False)
    is_gold = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["annotator", "image"], name="vote_unique_annotator_image"),
            models.CheckConstraint(condition=models.Q(label__gte=0), name="vote_label_nonneg"),
            models.CheckConstraint(
                condition=~(models.Q(is_gold=True) & models.Q(counted=True)), name="vote_gold_never_counted"
            ),
        ]
        # No other indexes: the image foreign key's index serves the per-image reads (nearly every
        # vote is counted), and nothing reads votes by creation time alone; every index here is
        # one more entry each vote insert writes on the hot path.


class UndoneVote(models.Model):
    """A vote its annotator took back ("Undo") while the image's reservation was still open.

    The vote row itself is deleted (so the image's counters, the annotator's progress and gold
    scoring count only the answer that stands) and kept here, field for field, next to the
    answer that replaced it: nothing an annotator answered is lost. ``vote_id`` is the deleted
    row's id; the database takes a vote back once.
    """

    vote_id = models.BigIntegerField(unique=True)
    image = models.ForeignKey("annotation.Image", on_delete=models.CASCADE, related_name="undone_votes")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="undone_votes")
    assignment = models.ForeignKey("annotation.Assignment", on_delete=models.CASCADE, related_name="undone_votes")
    label = models.SmallIntegerField()
    time_taken_ms = models.PositiveIntegerField(null=True, blank=True)
    counted = models.BooleanField()
    is_gold = models.BooleanField()
    created_at = models.DateTimeField()
    undone_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(undone_at__gte=models.F("created_at")), name="undone_after_vote"),
            models.CheckConstraint(condition=models.Q(label__gte=0), name="undone_label_nonneg"),
        ]
