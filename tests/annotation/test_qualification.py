"""Tutorial and quiz services: qualification before claiming, feedback without answers."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from annotation.errors import ServiceError
from annotation.models import Qualification
from annotation.services.qualification import (
    qualification_mark_tutorial_read,
    qualification_quiz_start,
    qualification_quiz_submit,
    tutorial_example_images,
)
from tests.factories import make_image, make_project, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def project():
    project = make_project(quiz_questions=4, quiz_pass_mark=0.75, quiz_retry_delay_s=600)
    for label in [0, 1, 2, 3, 4, 5, 6, 3, 3, 0, 1]:
        make_image(project=project, gold_label=label)
    make_image(project=project)  # not gold: never a question
    return project


def _start(annotator, project):
    qualification_mark_tutorial_read(annotator=annotator, project=project)
    return qualification_quiz_start(annotator=annotator, project=project, rng=random.Random(1))


def _right_answers(quiz):
    return {image.id: image.gold_label for image in quiz.images}


def test_it_refuses_the_quiz_before_the_tutorial_is_read(project):
    with pytest.raises(ServiceError) as caught:
        qualification_quiz_start(annotator=make_user(), project=project)
    assert caught.value.code == "tutorial_not_read"


def test_it_marks_the_tutorial_read_once(project):
    annotator = make_user()
    first = qualification_mark_tutorial_read(annotator=annotator, project=project).tutorial_read_at
    again = qualification_mark_tutorial_read(annotator=annotator, project=project).tutorial_read_at
    assert first is not None and again == first
    assert Qualification.objects.get(annotator=annotator).qualified_at is None


def test_it_qualifies_on_the_tutorial_when_the_project_has_no_quiz():
    project = make_project(quiz_questions=0)
    qualification = qualification_mark_tutorial_read(annotator=make_user(), project=project)
    assert qualification.is_qualified


def test_it_asks_distinct_gold_images_only_and_keeps_tutorial_examples_out(project):
    quiz = _start(make_user(), project)
    ids = [image.id for image in quiz.images]
    assert len(ids) == 4 and len(set(ids)) == 4
    assert all(image.is_gold for image in quiz.images)
    examples = {image.id for image in tutorial_example_images(project=project).values()}
    assert examples.isdisjoint(ids)


def test_it_passes_with_enough_right_answers_and_qualifies(project):
    annotator = make_user()
    quiz = _start(annotator, project)
    answers = _right_answers(quiz)
    wrong_one = quiz.images[0].id
    answers[wrong_one] = (answers[wrong_one] + 1) % 7
    result = qualification_quiz_submit(annotator=annotator, project=project, token=quiz.token, answers=answers)
    assert (result.correct, result.total, result.passed) == (3, 4, True)
    assert Qualification.objects.get(annotator=annotator).is_qualified


def test_it_fails_below_the_pass_mark_and_enforces_the_retry_delay(project):
    annotator = make_user()
    quiz = _start(annotator, project)
    wrong = {image_id: (label + 1) % 7 for image_id, label in _right_answers(quiz).items()}
    result = qualification_quiz_submit(annotator=annotator, project=project, token=quiz.token, answers=wrong)
    assert (result.correct, result.passed) == (0, False)
    assert result.retry_at is not None
    qualification = Qualification.objects.get(annotator=annotator)
    assert not qualification.is_qualified and qualification.quiz_attempts == 1
    with pytest.raises(ServiceError) as caught:
        qualification_quiz_start(annotator=annotator, project=project)
    assert caught.value.code == "quiz_retry_later"
    Qualification.objects.filter(pk=qualification.pk).update(last_quiz_at=timezone.now() - timedelta(seconds=601))
    assert qualification_quiz_start(annotator=annotator, project=project).images


def test_it_scores_a_token_only_once(project):
    annotator = make_user()
    project.quiz_retry_delay_s = 0
    project.save()
    quiz = _start(annotator, project)
    wrong = {image_id: (label + 1) % 7 for image_id, label in _right_answers(quiz).items()}
    qualification_quiz_submit(annotator=annotator, project=project, token=quiz.token, answers=wrong)
    with pytest.raises(ServiceError) as caught:
        qualification_quiz_submit(annotator=annotator, project=project, token=quiz.token, answers=_right_answers(quiz))
    assert caught.value.code == "quiz_invalid"  # the token is gone once scored
    assert not Qualification.objects.get(annotator=annotator).is_qualified


def test_it_refuses_a_forged_or_foreign_token(project):
    owner, other = make_user(), make_user()
    quiz = _start(owner, project)
    qualification_mark_tutorial_read(annotator=other, project=project)
    for token in (quiz.token + "x", quiz.token):
        with pytest.raises(ServiceError) as caught:
            qualification_quiz_submit(annotator=other, project=project, token=token, answers=_right_answers(quiz))
        assert caught.value.code == "quiz_invalid"
    assert not Qualification.objects.get(annotator=other).is_qualified


def test_it_refuses_answers_outside_the_quiz_or_the_classes(project):
    annotator = make_user()
    quiz = _start(annotator, project)
    first = quiz.images[0].id
    for answers, code in (({first: 7}, "invalid_label"), ({10**9: 0}, "quiz_invalid")):
        with pytest.raises(ServiceError) as caught:
            qualification_quiz_submit(annotator=annotator, project=project, token=quiz.token, answers=answers)
        assert caught.value.code == code
    assert Qualification.objects.get(annotator=annotator).quiz_attempts == 0


def test_it_reports_a_project_without_gold_images():
    project = make_project(quiz_questions=3)
    annotator = make_user()
    qualification_mark_tutorial_read(annotator=annotator, project=project)
    with pytest.raises(ServiceError) as caught:
        qualification_quiz_start(annotator=annotator, project=project)
    assert caught.value.code == "quiz_unavailable"


def test_it_picks_one_tutorial_example_per_class(project):
    examples = tutorial_example_images(project=project)
    assert sorted(examples) == list(range(7))
    assert all(image.gold_label == label for label, image in examples.items())
