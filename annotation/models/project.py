from __future__ import annotations

from django.db import models

from reliability.classes import BASIC_EMOTIONS


def default_classes() -> list[str]:
    return list(BASIC_EMOTIONS)


class Project(models.Model):
    """A collection campaign: which classes, how many votes per image, how strict."""

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True, help_text="A sentence or two for the project cards.")
    classes = models.JSONField(default=default_classes, help_text="Class names in label order.")
    votes_wanted = models.PositiveIntegerField(default=40)
    reservation_timeout_s = models.PositiveIntegerField(default=600)
    gold_rate = models.FloatField(default=0.05, help_text="Share of served images that are gold checks.")
    # Probation: an annotator's first probation_answers answers in the project are gold checks
    # at probation_gold_rate (when it is above gold_rate), so the spammer rules have evidence
    # before an annotator's votes count for much (docs/reliability.md, "Spammer rules").
    probation_answers = models.PositiveIntegerField(
        default=30, help_text="An annotator's first answers in the project, served gold at the probation rate."
    )
    probation_gold_rate = models.FloatField(
        default=0.5, help_text="Share of gold checks among an annotator's first answers (probation)."
    )
    tutorial_text = models.TextField(blank=True)
    quiz_questions = models.PositiveIntegerField(default=10)
    quiz_pass_mark = models.FloatField(default=0.8)
    quiz_retry_delay_s = models.PositiveIntegerField(default=600)
    licence_text = models.TextField(blank=True)
    subset_min_votes = models.PositiveIntegerField(
        default=5,
        help_text="Images with fewer counted votes stay out of the basic and compound subsets.",
    )
    # The least time between claiming an image and voting on it; a quicker vote is refused
    # (429 too_fast). Empty: the install's RAF_MIN_VOTE_MS.
    min_vote_ms = models.PositiveIntegerField(null=True, blank=True)
    # Allocation (docs/reliability.md, "Adaptive allocation"): fixed gives every image
    # votes_wanted votes; adaptive retires an image once its partition outcome has settled,
    # after at least min_votes. Spammer control: flag only, or pause the annotator at once.
    allocation = models.CharField(
        max_length=10, choices=[("fixed", "fixed"), ("adaptive", "adaptive")], default="fixed"
    )
    min_votes = models.PositiveIntegerField(default=10)
    stop_confidence = models.FloatField(default=0.93)
    spammer_action = models.CharField(
        max_length=10, choices=[("flag", "flag only"), ("pause", "pause automatically")], default="flag"
    )
    current_model = models.ForeignKey(
        "annotation.TrainingRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(votes_wanted__gte=1), name="project_votes_wanted_positive"),
            models.CheckConstraint(
                condition=models.Q(gold_rate__gte=0) & models.Q(gold_rate__lte=1), name="project_gold_rate_0_1"
            ),
            models.CheckConstraint(
                condition=models.Q(probation_gold_rate__gte=0) & models.Q(probation_gold_rate__lte=1),
                name="project_probation_gold_rate_0_1",
            ),
            models.CheckConstraint(condition=models.Q(min_votes__gte=1), name="project_min_votes_positive"),
            models.CheckConstraint(
                condition=models.Q(stop_confidence__gte=0.5) & models.Q(stop_confidence__lt=1),
                name="project_stop_confidence_half_1",
            ),
            models.CheckConstraint(
                condition=models.Q(quiz_pass_mark__gte=0) & models.Q(quiz_pass_mark__lte=1),
                name="project_quiz_pass_mark_0_1",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def n_classes(self) -> int:
        return len(self.classes)
