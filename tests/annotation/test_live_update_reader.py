"""The live update's reader and its incremental parts: every answer read as arrays in the order
written, the stopping rule on the images whose votes changed, the spammer tests on the
annotators who answered since the last update."""

from __future__ import annotations

import numpy as np
import pytest

import annotation.services.live_reliability as live_module
from annotation.errors import ServiceError
from annotation.models import AnnotatorFlag, Image, Vote
from annotation.services.live_reliability import live_reliability_update, project_answers
from annotation.services.vote_arrays import PROJECT_VOTES, query_arrays
from tests.annotation.factories import make_annotator, make_gold, make_images, make_project

pytestmark = [pytest.mark.django_db]


def put(image, user, label, *, time_ms=1500, counted=True, is_gold=False) -> Vote:
    vote = Vote.objects.create(
        image=image, annotator=user, label=label, time_taken_ms=time_ms, counted=counted, is_gold=is_gold
    )
    if counted:
        Image.objects.filter(pk=image.pk).update(counted_votes=image.votes.filter(counted=True).count())
    return vote


def test_it_reads_every_answer_of_the_project_in_the_order_written():
    project = make_project(votes_wanted=5)
    other = make_project(votes_wanted=5)
    images = make_images(project, 2)
    [gold] = make_gold(project, 1, label=4)
    [elsewhere] = make_images(other, 1)
    a, b = make_annotator(project), make_annotator(project)
    written = [
        put(images[1], a, 2),
        put(images[0], b, 6, time_ms=None),
        put(gold, a, 4, counted=False, is_gold=True),
        put(images[0], a, 0, counted=False),  # an excluded vote
    ]
    put(elsewhere, a, 1)

    answers = project_answers(project_id=project.pk)

    assert answers["id"].tolist() == [v.pk for v in written]
    assert answers["annotator"].tolist() == [a.pk, b.pk, a.pk, a.pk]
    assert answers["image"].tolist() == [images[1].pk, images[0].pk, gold.pk, images[0].pk]
    assert answers["label"].tolist() == [2, 6, 4, 0]
    assert answers["time_ms"].tolist() == [1500, -1, 1500, 1500]
    assert answers["counted"].tolist() == [1, 1, 0, 0]
    assert answers["gold_label"].tolist() == [-1, -1, 4, -1]
    assert all(values.dtype == np.int64 for values in answers.values())


def test_a_project_without_answers_reads_as_empty_arrays_and_gets_no_update():
    project = make_project()
    assert all(values.shape == (0,) for values in project_answers(project_id=project.pk).values())
    assert live_reliability_update(project=project) is None


def test_a_null_value_is_refused_with_a_sentence_not_misread():
    project = make_project()
    put(make_images(project, 1)[0], make_annotator(project), 1, time_ms=None)
    with pytest.raises(ServiceError) as refused:
        query_arrays(
            columns=[("id", "v.id", "int8"), ("time_ms", "v.time_taken_ms", "int4")],
            from_where=PROJECT_VOTES,
            params={"project": project.pk},
        )
    assert refused.value.code == "bad_votes" and refused.value.message.endswith(".")


def test_the_stopping_rule_looks_only_at_images_whose_votes_changed(monkeypatch):
    project = make_project(votes_wanted=40, allocation="adaptive", min_votes=10)
    images = make_images(project, 4)
    annotators = [make_annotator(project) for _ in range(5)]
    for image in images:
        for user in annotators if image != images[2] else annotators[:4]:  # agreeing: nobody filtered
            put(image, user, 3)
    looked: list[int] = []
    real = live_module.settled

    def spy(counts, votes, **kwargs):
        looked.append(counts.shape[0])
        return real(counts, votes, **kwargs)

    monkeypatch.setattr(live_module, "settled", spy)
    live_reliability_update(project=project)
    live_reliability_update(project=project)  # nothing new
    put(images[2], annotators[4], 3)
    live_reliability_update(project=project)
    assert looked == [4, 0, 1]


def test_the_spammer_tests_take_up_an_annotator_again_once_they_answer_again():
    project = make_project(votes_wanted=40, spammer_action="pause")
    images = make_images(project, 40)
    honest = [make_annotator(project) for _ in range(6)]
    for image in images:
        for user in honest:
            put(image, user, 3)
    clicker = make_annotator(project)
    for image in images[:5]:  # too few answers to judge
        put(image, clicker, 0, time_ms=0)
    live_reliability_update(project=project)
    assert not AnnotatorFlag.objects.filter(annotator=clicker).exists()
    for image in images[5:25]:
        put(image, clicker, 0, time_ms=0)
    live_reliability_update(project=project)
    flag = AnnotatorFlag.objects.get(annotator=clicker)
    assert flag.status == "paused" and flag.answers_at_flag == 25  # judged on all their answers
    assert not AnnotatorFlag.objects.exclude(annotator=clicker).exists()


def test_the_rows_are_sorted_by_a_distinct_key_in_any_order_they_come():
    from annotation.services.vote_arrays import _sorting_permutation

    rng = np.random.default_rng(0)
    for key in (rng.permutation(10_000) + 7, rng.permutation(np.arange(0, 10**15, 10**11)), np.zeros(0, np.int64)):
        assert np.array_equal(_sorting_permutation(key), np.argsort(key, kind="stable"))
