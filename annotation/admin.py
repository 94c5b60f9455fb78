from __future__ import annotations

from django.contrib import admin

from annotation import models


@admin.register(models.Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "votes_wanted", "gold_rate", "created_at"]


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
