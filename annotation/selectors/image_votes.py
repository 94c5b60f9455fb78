"""Reads for the image page: vote counts per class and the main face."""

from __future__ import annotations

from django.db.models import Count

from annotation.models import Face, Image, Vote


def image_vote_histogram(*, image: Image, counted_only: bool = True) -> list[int]:
    """Votes per class, ``(K,)`` in the project's class order; counted votes only by default
    (gold and late votes never make an image's distribution)."""
    votes = Vote.objects.filter(image=image)
    if counted_only:
        votes = votes.filter(counted=True)
    counts = [0] * image.project.n_classes
    for label, n in votes.values_list("label").annotate(n=Count("id")).values_list("label", "n"):
        if 0 <= label < len(counts):
            counts[label] = n
    return counts


def image_main_face(*, image: Image) -> Face | None:
    return Face.objects.filter(image=image, is_main=True).first()
