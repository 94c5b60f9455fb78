"""Which votes a user may list, and how they read to them."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from annotation.models import Vote
from annotation.permissions import ADMIN, RESEARCHER, has_role


def vote_list_visible(
    *, user: AbstractBaseUser, project_id: int | None = None, annotator_id: int | None = None
) -> QuerySet[Vote]:
    """Votes newest first: annotators see only their own (``annotator_id`` is ignored for them),
    researchers and admins every vote."""
    queryset = Vote.objects.select_related("image").order_by("-id")
    if not vote_details_visible(user=user):
        queryset = queryset.filter(annotator=user)
    elif annotator_id is not None:
        queryset = queryset.filter(annotator_id=annotator_id)
    if project_id is not None:
        queryset = queryset.filter(image__project_id=project_id)
    return queryset


def vote_details_visible(*, user: AbstractBaseUser) -> bool:
    """Whether ``user`` sees every vote and which were gold checks (researchers, admins).
    Annotators never learn that a vote was a gold check: it reads as counted to them."""
    return has_role(user, RESEARCHER, ADMIN)


def vote_counted_as_seen(*, vote: Vote, details: bool) -> bool:
    return vote.counted if details else vote.counted or vote.is_gold
