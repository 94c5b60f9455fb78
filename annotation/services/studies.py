"""Studies on crowd markets: creating and closing them, letting participants in, finishing.

A participant arrives through the study's entry URL with the market's parameters (Prolific's
``PROLIFIC_PID``/``STUDY_ID``/``SESSION_ID``, MTurk's ``workerId``/``assignmentId``/``hitId``,
or a generic ``participant``). The first entry creates a password-less annotator account (a
random username, never the market id) with a ``StudyEnrolment`` and a ``StudyParticipantLink``;
a later entry with the same id, from any browser, resumes that account. The participant then
takes the project's tutorial and quiz like anyone else: failing the quiz screens them out, and
reaching the study's quota of votes (or the end of the project's work for them) completes them.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import quote

from django.contrib.auth.models import AbstractBaseUser, Group, User
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from annotation.errors import ServiceError
from annotation.models import (
    AnnotatorProfile,
    Project,
    Qualification,
    Study,
    StudyEnrolment,
    StudyMarket,
    StudyParticipantLink,
)
from annotation.permissions import ANNOTATOR
from annotation.selectors.studies import enrolment_votes, study_work_left

# What a market id may look like: Prolific's are 24 hex digits, MTurk's upper-case letters and
# digits; a generic site may use e-mail-like or UUID ids. Anything else is refused, so no markup
# or control character is ever stored.
PARTICIPANT_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@:-]{0,99}$")
# MTurk shows the task to a worker who has not accepted the HIT yet with this assignment id.
MTURK_PREVIEW = "ASSIGNMENT_ID_NOT_AVAILABLE"
PROLIFIC_RETURN_URL = "https://app.prolific.com/submissions/complete?cc={code}"


@dataclass(frozen=True)
class MarketEntry:
    """The market's parameters of one arrival, named the same way for every market."""

    participant_id: str
    market_study_id: str = ""
    session_id: str = ""


# Query parameter names per market: (participant, study, session).
MARKET_PARAMS: dict[str, tuple[str, str, str]] = {
    StudyMarket.PROLIFIC: ("PROLIFIC_PID", "STUDY_ID", "SESSION_ID"),
    StudyMarket.MTURK: ("workerId", "hitId", "assignmentId"),
    StudyMarket.GENERIC: ("participant", "study", "session"),
}


def market_entry_from_params(*, market: str, params: Mapping[str, str]) -> MarketEntry:
    """Read the market's query parameters; refuses a missing or malformed participant id and
    MTurk's preview (a worker who has not accepted the HIT)."""
    participant_name, study_name, session_name = MARKET_PARAMS[market]
    if market == StudyMarket.MTURK and params.get("assignmentId") == MTURK_PREVIEW:
        raise ServiceError("Accept the HIT to start the task.", code="mturk_preview", status_code=403)
    participant_id = (params.get(participant_name) or "").strip()
    if not participant_id:
        raise ServiceError(
            f"This link needs the market's {participant_name} parameter.", code="participant_missing", status_code=400
        )
    if not PARTICIPANT_ID_RE.match(participant_id):
        raise ServiceError("The participant id is not valid.", code="participant_invalid", status_code=400)
    return MarketEntry(
        participant_id=participant_id,
        market_study_id=(params.get(study_name) or "").strip()[:100],
        session_id=(params.get(session_name) or "").strip()[:100],
    )


def study_create(
    *,
    project: Project,
    name: str,
    market: str,
    quota: int,
    completion_code: str,
    screened_out_code: str = "",
    return_url: str = "",
    market_study_id: str = "",
    bonus_per_vote: Decimal | float | str = 0,
    created_by: AbstractBaseUser | None = None,
) -> Study:
    """Create an open study of ``project`` (admins). A Prolific study without a return URL
    gets Prolific's completion URL, which carries the code."""
    if market not in StudyMarket.values:
        raise ServiceError(f"Unknown market {market!r}.", code="invalid")
    if quota < 1:
        raise ServiceError("The quota is at least one vote.", code="invalid")
    if not completion_code.strip():
        raise ServiceError("A study needs a completion code.", code="invalid")
    bonus = Decimal(str(bonus_per_vote))
    if bonus < 0:
        raise ServiceError("The bonus cannot be negative.", code="invalid")
    if market == StudyMarket.PROLIFIC and not return_url:
        return_url = PROLIFIC_RETURN_URL
    return Study.objects.create(
        project=project,
        name=name.strip() or f"{project.name} study",
        market=market,
        quota=quota,
        completion_code=completion_code.strip(),
        screened_out_code=screened_out_code.strip(),
        return_url=return_url.strip(),
        market_study_id=market_study_id.strip(),
        bonus_per_vote=bonus,
        created_by=created_by,
    )


def study_close(*, study: Study) -> Study:
    """Close the study's entry link to new participants; those already in may finish."""
    Study.objects.filter(pk=study.pk, is_open=True).update(is_open=False, closed_at=timezone.now())
    study.refresh_from_db()
    return study


def study_reopen(*, study: Study) -> Study:
    """Open a closed study's entry link again."""
    Study.objects.filter(pk=study.pk, is_open=False).update(is_open=True, closed_at=None)
    study.refresh_from_db()
    return study


def study_links_delete(*, study: Study) -> int:
    """Forget the market ids of the study's participants (after payment); returns how many.

    The annotator accounts, their votes and the work log stay, without participant ids."""
    deleted, _ = StudyParticipantLink.objects.filter(study=study).delete()
    return deleted


def _new_participant_account(study: Study) -> User:
    # A random name: the market id is never a username, which pages and the admin show.
    user = User.objects.create_user(username=f"p{study.pk}-{secrets.token_hex(6)}", password=None)
    user.groups.add(Group.objects.get_or_create(name=ANNOTATOR)[0])
    AnnotatorProfile.objects.create(user=user)
    return user


def study_enter(*, study: Study, entry: MarketEntry) -> StudyEnrolment:
    """The enrolment of ``entry``'s participant in ``study``: resumed when the participant id
    came before (from any browser), created otherwise. A closed study lets no one new in."""
    if study.market_study_id and entry.market_study_id != study.market_study_id:
        raise ServiceError("This link belongs to another study.", code="wrong_study", status_code=403)
    enrolment = _resume(study=study, entry=entry)
    if enrolment is not None:
        return enrolment
    if not study.is_open:
        raise ServiceError("This study is closed.", code="study_closed", status_code=410)
    try:
        with transaction.atomic():
            user = _new_participant_account(study)
            enrolment = StudyEnrolment.objects.create(study=study, annotator=user)
            # The quota, kept by the database: the vote past it is refused whatever sends it.
            Qualification.objects.create(annotator=user, project=study.project, vote_quota=study.quota)
            StudyParticipantLink.objects.create(
                study=study,
                enrolment=enrolment,
                participant_id=entry.participant_id,
                market_study_id=entry.market_study_id,
                session_id=entry.session_id,
            )
    except IntegrityError:
        # The same participant id arrived twice at once (two tabs): the unique link refused
        # one, whose account was rolled back with it; both resume the winner's.
        enrolment = _resume(study=study, entry=entry)
        if enrolment is None:
            raise
    return enrolment


def _resume(*, study: Study, entry: MarketEntry) -> StudyEnrolment | None:
    link = (
        StudyParticipantLink.objects.filter(study=study, participant_id=entry.participant_id)
        .select_related("enrolment__annotator", "enrolment__study__project")
        .first()
    )
    if link is None:
        return None
    StudyEnrolment.objects.filter(pk=link.enrolment_id).update(last_entry_at=timezone.now(), entries=F("entries") + 1)
    if entry.session_id and entry.session_id != link.session_id:
        # MTurk gives a new assignment id when a worker takes the HIT again; pay the latest.
        StudyParticipantLink.objects.filter(pk=link.pk).update(session_id=entry.session_id)
    link.enrolment.refresh_from_db(fields=["last_entry_at", "entries", "completed_at", "screened_out_at"])
    return link.enrolment


def study_enrolment_complete(*, enrolment: StudyEnrolment) -> StudyEnrolment:
    """Mark the participant complete once they passed the quiz and gave the quota of votes (or
    the project has no more work for them); refuses earlier and after a screen-out."""
    if enrolment.completed_at is not None:
        return enrolment
    if enrolment.screened_out_at is not None:
        raise ServiceError("You were screened out of this study.", code="screened_out", status_code=403)
    study = enrolment.study
    if not Qualification.objects.filter(
        annotator_id=enrolment.annotator_id, project_id=study.project_id, qualified_at__isnull=False
    ).exists():
        raise ServiceError("Pass the quiz first.", code="not_qualified", status_code=403)
    votes = enrolment_votes(enrolment=enrolment)
    if votes < study.quota and study_work_left(annotator=enrolment.annotator, project=study.project):
        raise ServiceError(
            f"Label {study.quota - votes} more face(s) to finish.",
            code="quota_not_reached",
            details={"votes": votes, "quota": study.quota},
            status_code=409,
        )
    StudyEnrolment.objects.filter(pk=enrolment.pk, completed_at__isnull=True, screened_out_at__isnull=True).update(
        completed_at=timezone.now()
    )
    enrolment.refresh_from_db(fields=["completed_at", "screened_out_at"])
    return enrolment


def study_enrolment_screen_out(*, enrolment: StudyEnrolment) -> StudyEnrolment:
    """Screen the participant out (a failed quiz); a completed participant stays completed."""
    StudyEnrolment.objects.filter(pk=enrolment.pk, completed_at__isnull=True, screened_out_at__isnull=True).update(
        screened_out_at=timezone.now()
    )
    enrolment.refresh_from_db(fields=["completed_at", "screened_out_at"])
    return enrolment


def study_return_url(*, study: Study, code: str) -> str:
    """The market URL a participant goes to with ``code`` (empty when the study has none)."""
    return study.return_url.replace("{code}", quote(code, safe="")) if study.return_url else ""
