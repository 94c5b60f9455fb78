"""Entering a study: one password-less account per participant id, resumed from anywhere."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from annotation.errors import ServiceError
from annotation.models import StudyEnrolment, StudyParticipantLink
from annotation.permissions import ANNOTATOR, has_role
from annotation.services.studies import market_entry_from_params, study_close, study_links_delete
from tests.annotation.study_factories import enter, make_study

pytestmark = pytest.mark.django_db
PID = "5f0c0a1b2c3d4e5f60718293"


def test_it_creates_a_password_less_annotator_whose_username_is_not_the_participant_id():
    enrolment = enter(make_study(), PID, session_id="s1")
    user = enrolment.annotator
    assert not user.has_usable_password()
    assert has_role(user, ANNOTATOR)
    assert PID not in user.username and PID not in user.email
    assert enrolment.link.participant_id == PID
    assert hasattr(user, "annotator")  # the profile whose pseudonym exports never use either


def test_it_resumes_the_same_annotator_when_the_participant_id_comes_back():
    study = make_study()
    first = enter(study, PID, session_id="s1")
    again = enter(study, PID, session_id="s2")
    assert again.pk == first.pk and again.annotator_id == first.annotator_id
    assert again.entries == 2
    assert StudyParticipantLink.objects.get(study=study).session_id == "s2"
    assert User.objects.filter(enrolment__study=study).count() == 1


def test_it_gives_the_same_participant_id_a_separate_account_in_another_study():
    a, b = make_study(), make_study()
    assert enter(a, PID).annotator_id != enter(b, PID).annotator_id


def test_it_lets_no_one_new_into_a_closed_study_but_resumes_those_inside():
    study = make_study()
    inside = enter(study, PID)
    study_close(study=study)
    assert enter(study, PID).pk == inside.pk
    with pytest.raises(ServiceError) as refused:
        enter(study, "60aaaaaaaaaaaaaaaaaaaaaa")
    assert refused.value.code == "study_closed"


def test_it_refuses_an_entry_for_another_market_study_when_the_study_id_is_pinned():
    study = make_study(market_study_id="STUDY1")
    with pytest.raises(ServiceError) as refused:
        enter(study, PID, market_study_id="OTHER")
    assert refused.value.code == "wrong_study"
    assert enter(study, PID, market_study_id="STUDY1").link.market_study_id == "STUDY1"


@pytest.mark.parametrize(
    ("market", "params", "expected"),
    [
        ("prolific", {"PROLIFIC_PID": PID, "STUDY_ID": "st", "SESSION_ID": "se"}, (PID, "st", "se")),
        ("mturk", {"workerId": "A1B2C3", "hitId": "H9", "assignmentId": "A7"}, ("A1B2C3", "H9", "A7")),
        ("generic", {"participant": "x@example.org"}, ("x@example.org", "", "")),
    ],
)
def test_it_reads_each_markets_parameters(market, params, expected):
    entry = market_entry_from_params(market=market, params=params)
    assert (entry.participant_id, entry.market_study_id, entry.session_id) == expected


@pytest.mark.parametrize(
    ("market", "params", "code"),
    [
        ("prolific", {}, "participant_missing"),
        ("prolific", {"PROLIFIC_PID": "<script>"}, "participant_invalid"),
        ("generic", {"participant": "a" * 101}, "participant_invalid"),
        ("mturk", {"workerId": "A1", "assignmentId": "ASSIGNMENT_ID_NOT_AVAILABLE"}, "mturk_preview"),
    ],
)
def test_it_refuses_a_missing_or_malformed_participant_id_and_the_mturk_preview(market, params, code):
    with pytest.raises(ServiceError) as refused:
        market_entry_from_params(market=market, params=params)
    assert refused.value.code == code


def test_it_forgets_participant_ids_per_study_and_keeps_the_accounts():
    a, b = make_study(), make_study()
    kept = enter(a, PID)
    enter(b, PID)
    assert study_links_delete(study=a) == 1
    assert not StudyParticipantLink.objects.filter(study=a).exists()
    assert StudyParticipantLink.objects.filter(study=b).count() == 1
    assert StudyEnrolment.objects.filter(pk=kept.pk).exists()
    # The id is gone: the same participant coming back is someone new.
    assert enter(a, PID).pk != kept.pk
