"""Input serializers of the hot path: plain fields copied shallowly, validation unchanged."""

from __future__ import annotations

import threading

import pytest
from rest_framework import serializers

from annotation.apis.assignments import AssignmentVoteApi
from annotation.apis.fields import FlatInputSerializer


def test_a_flat_serializer_refuses_fields_that_hold_other_fields():
    with pytest.raises(TypeError, match="plain fields only"):

        class Nested(FlatInputSerializer):  # noqa: F841
            items = serializers.ListField(child=serializers.IntegerField())


def test_each_instance_binds_its_own_copies_and_validates_as_drf_does():
    vote = AssignmentVoteApi.InputSerializer
    first, second = vote(data={"label": 3}), vote(data={"label": -1, "next": "x"})
    assert first.fields["label"] is not second.fields["label"]
    assert first.fields["label"].parent is first and second.fields["label"].parent is second
    assert first.is_valid() and first.validated_data == {"label": 3, "time_taken_ms": None, "next": 1}
    assert not second.is_valid()
    assert set(second.errors) == {"label", "next"}
    assert "greater than or equal to 0" in str(second.errors["label"][0])


def test_instances_validate_concurrently_without_sharing_state():
    vote = AssignmentVoteApi.InputSerializer
    failures: list[str] = []

    def work(label: int) -> None:
        for _ in range(300):
            data = vote(data={"label": label, "time_taken_ms": label * 10, "next": label % 3})
            if not data.is_valid() or data.validated_data["label"] != label:
                failures.append(f"{label}: {data.errors or data.validated_data}")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
