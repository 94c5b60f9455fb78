"""The same participant id arriving from several browsers at once, on real connections."""

from __future__ import annotations

import threading

import pytest
from django.contrib.auth.models import User
from django.db import connection

from annotation.models import StudyEnrolment, StudyParticipantLink
from tests.annotation.study_factories import enter, make_study

PID = "5f0c0a1b2c3d4e5f60718293"


@pytest.mark.django_db(transaction=True)
def test_it_makes_one_account_when_one_participant_id_arrives_six_times_at_once() -> None:
    study = make_study()
    barrier = threading.Barrier(6)
    enrolments: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            enrolments.append(enter(study, PID).pk)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    enrolment = StudyEnrolment.objects.get(study=study)
    assert enrolments == [enrolment.pk] * 6 and enrolment.entries == 6  # five resumed the winner
    assert StudyParticipantLink.objects.filter(study=study).count() == 1
    assert User.objects.filter(username__startswith=f"p{study.pk}-").count() == 1
