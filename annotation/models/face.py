from __future__ import annotations

from django.conf import settings
from django.db import models


class LandmarkSource(models.TextChoices):
    AUTO = "auto", "Automatic"
    MANUAL = "manual", "Manual"
    IMPORTED = "imported", "Imported"


class Gender(models.IntegerChoices):
    """The paper's codes (RAF-DB ``manu_attri`` files)."""

    MALE = 0, "Male"
    FEMALE = 1, "Female"
    UNSURE = 2, "Unsure"


class Race(models.IntegerChoices):
    CAUCASIAN = 0, "Caucasian"
    AFRICAN_AMERICAN = 1, "African-American"
    ASIAN = 2, "Asian"
    UNSURE = 3, "Unsure"


class AgeRange(models.IntegerChoices):
    AGE_0_3 = 0, "0-3"
    AGE_4_19 = 1, "4-19"
    AGE_20_39 = 2, "20-39"
    AGE_40_69 = 3, "40-69"
    AGE_70_PLUS = 4, "70+"
    UNSURE = 5, "Unsure"


def aligned_upload_to(instance: Face, filename: str) -> str:
    return f"aligned/{instance.image.project_id}/{instance.image_id}/{filename}"


class Face(models.Model):
    """A face in an image: box, 5 landmarks, attributes, pose and the 100x100 alignment.

    ``landmarks`` is ``[[x, y] x 5]`` in image pixels, in RAF-DB order: left eye, right eye,
    nose tip, left mouth corner, right mouth corner ("left" = smaller x in the image).
    """

    image = models.ForeignKey("annotation.Image", on_delete=models.CASCADE, related_name="faces")
    is_main = models.BooleanField(default=False, help_text="The face that is annotated.")
    x1 = models.FloatField()
    y1 = models.FloatField()
    x2 = models.FloatField()
    y2 = models.FloatField()
    confidence = models.FloatField(null=True, blank=True)
    landmarks = models.JSONField(null=True, blank=True)
    auto_landmarks = models.JSONField(
        null=True, blank=True, help_text="37 automatic landmarks [[x, y] x 37] in image pixels (RAF-DB auto_attri)."
    )
    landmarks_source = models.CharField(max_length=8, choices=LandmarkSource.choices, default=LandmarkSource.AUTO)
    gender = models.SmallIntegerField(choices=Gender.choices, null=True, blank=True)
    age_range = models.SmallIntegerField(choices=AgeRange.choices, null=True, blank=True)
    race = models.SmallIntegerField(choices=Race.choices, null=True, blank=True)
    yaw = models.FloatField(null=True, blank=True)
    pitch = models.FloatField(null=True, blank=True)
    roll = models.FloatField(null=True, blank=True)
    aligned = models.FileField(upload_to=aligned_upload_to, blank=True, max_length=300)
    aligned_grey = models.FileField(upload_to=aligned_upload_to, blank=True, max_length=300)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["image"], condition=models.Q(is_main=True), name="face_one_main_per_image"),
            models.CheckConstraint(
                condition=models.Q(x2__gt=models.F("x1")) & models.Q(y2__gt=models.F("y1")), name="face_box_positive"
            ),
        ]


class FaceRevision(models.Model):
    """Who changed a face's box, landmarks or attributes, and when (the values before)."""

    face = models.ForeignKey(Face, on_delete=models.CASCADE, related_name="revisions")
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    changed_at = models.DateTimeField(auto_now_add=True)
    before = models.JSONField()
    after = models.JSONField()
