from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from annotation import models
from annotation.services.spammers import flag_review


@admin.register(models.Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "votes_wanted", "allocation", "min_votes", "spammer_action", "gold_rate", "created_at"]


@admin.register(models.Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "status", "counted_votes", "reserved", "votes_wanted", "is_gold", "keyword"]
    list_filter = ["project", "status", "is_gold"]
    search_fields = ["sha256", "source", "keyword"]


@admin.register(models.Face)
class FaceAdmin(admin.ModelAdmin):
    list_display = ["id", "image", "is_main", "landmarks_source", "gender", "age_range", "race"]
    list_filter = ["landmarks_source", "is_main"]
    raw_id_fields = ["image"]


@admin.register(models.Vote)
class VoteAdmin(admin.ModelAdmin):
    list_display = ["id", "image", "annotator", "label", "counted", "late", "is_gold", "created_at"]
    list_filter = ["counted", "late", "is_gold"]
    raw_id_fields = ["image", "annotator"]


@admin.register(models.UndoneVote)
class UndoneVoteAdmin(admin.ModelAdmin):
    list_display = ["vote_id", "image", "annotator", "label", "created_at", "undone_at"]
    raw_id_fields = ["image", "annotator", "assignment"]


@admin.register(models.Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["id", "image", "annotator", "status", "expires_at"]
    list_filter = ["status", "is_gold"]
    raw_id_fields = ["image", "annotator"]


@admin.register(models.AnnotatorFlag)
class AnnotatorFlagAdmin(admin.ModelAdmin):
    """The spammer review queue: the actions call the same service as the API."""

    list_display = ["id", "project", "annotator", "reason", "status", "answers_at_flag", "created_at", "reviewed_at"]
    list_filter = ["project", "status", "reason"]
    raw_id_fields = ["annotator", "reviewed_by"]
    actions = ["review_pause", "review_resume", "review_clear", "review_exclude"]

    def _review(self, request: HttpRequest, queryset: QuerySet[models.AnnotatorFlag], action: str) -> None:
        for flag in queryset.select_related("project"):
            flag_review(flag=flag, action=action, by=request.user)
        self.message_user(request, f"{action}: {queryset.count()} flag(s)")

    @admin.action(description="Pause (cannot claim)")
    def review_pause(self, request: HttpRequest, queryset: QuerySet[models.AnnotatorFlag]) -> None:
        self._review(request, queryset, "pause")

    @admin.action(description="Resume (claims again, votes count)")
    def review_resume(self, request: HttpRequest, queryset: QuerySet[models.AnnotatorFlag]) -> None:
        self._review(request, queryset, "resume")

    @admin.action(description="Clear (not a spammer)")
    def review_clear(self, request: HttpRequest, queryset: QuerySet[models.AnnotatorFlag]) -> None:
        self._review(request, queryset, "clear")

    @admin.action(description="Exclude their votes (images return to the pool)")
    def review_exclude(self, request: HttpRequest, queryset: QuerySet[models.AnnotatorFlag]) -> None:
        self._review(request, queryset, "exclude")


@admin.register(models.LiveReliability)
class LiveReliabilityAdmin(admin.ModelAdmin):
    list_display = ["project", "computed_at", "votes", "seconds", "annotators_flagged", "images_retired"]
    exclude = ["state"]


@admin.register(models.Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "project", "status", "progress", "message", "created_at"]
    list_filter = ["kind", "status"]


for model in (
    models.AnnotatorProfile,
    models.Qualification,
    models.ImageReport,
    models.FaceRevision,
    models.ReliabilityRun,
    models.AnnotatorReliability,
    models.ImageReliability,
    models.TrainingRun,
    models.DatasetExport,
):
    admin.site.register(model)
