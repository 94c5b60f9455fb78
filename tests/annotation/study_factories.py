"""Factories for the study tests: a project with gold quiz images and faces to label, and a
study of it on a market."""

from __future__ import annotations

from annotation.models import Project, Study
from annotation.services.studies import MarketEntry, study_create, study_enter
from tests.factories import make_image, make_project


def study_project(*, regular: int = 6, **fields: object) -> Project:
    fields = {"quiz_questions": 2, "quiz_pass_mark": 1.0, "quiz_retry_delay_s": 0, "votes_wanted": 3, **fields}
    fields.setdefault("gold_rate", 0.0)
    project = make_project(**fields)
    for label in [*range(7), 3, 5, 0]:
        make_image(project=project, gold_label=label, width=96, height=96)
    for _ in range(regular):
        make_image(project=project, width=160, height=120, face=True)
    return project


def make_study(*, project: Project | None = None, market: str = "prolific", quota: int = 3, **fields: object) -> Study:
    fields.setdefault("completion_code", "C1234ABC")
    fields.setdefault("screened_out_code", "SCREEN01")
    return study_create(project=project or study_project(), name="pilot", market=market, quota=quota, **fields)


def enter(study: Study, participant_id: str = "5f0c0a1b2c3d4e5f60718293", **ids: str):
    return study_enter(study=study, entry=MarketEntry(participant_id=participant_id, **ids))


def label_faces(enrolment, n: int, *, label: int = 3, time_taken_ms: int = 1500) -> int:
    """Let the participant pass the quiz (marked directly) and vote on ``n`` faces through the
    public claim and vote services; returns how many votes were stored."""
    from annotation.services.assignment import assignment_claim_next
    from annotation.services.votes import vote_create
    from tests.factories import make_qualified

    project = enrolment.study.project
    make_qualified(annotator=enrolment.annotator, project=project)
    stored = 0
    for _ in range(n):
        claimed = assignment_claim_next(annotator=enrolment.annotator, project=project, count=1)
        if not claimed:
            break
        vote_create(annotator=enrolment.annotator, assignment=claimed[0], label=label, time_taken_ms=time_taken_ms)
        stored += 1
    return stored
