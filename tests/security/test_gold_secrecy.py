"""Gold checks stay secret from the annotator who is checked: the quiz's hidden fields name no
image, and no picture the annotator can fetch in the tutorial or the quiz comes back later as a
gold check (same bytes)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import zlib

import pytest
from django.test import Client
from django.urls import reverse

from annotation.models import Assignment, Image
from tests.factories import make_image, make_project, make_user

pytestmark = pytest.mark.django_db


def _decodings(value: str) -> list[bytes]:
    """What an attacker gets from a hidden field: each ':'-separated part base64-decoded, and
    inflated when it starts with '.' (Django's signing format)."""
    found = []
    for part in value.split(":"):
        compressed = part.startswith(".")
        part = part.lstrip(".")
        try:
            raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        except ValueError:
            continue
        if compressed:
            try:
                raw = zlib.decompress(raw)
            except zlib.error:
                continue
        found.append(raw)
    return found


def _sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def test_no_picture_of_the_tutorial_or_the_quiz_comes_back_as_a_gold_check() -> None:
    project = make_project(quiz_questions=3, quiz_pass_mark=1.0, gold_rate=1.0, votes_wanted=1)
    for label in range(7):
        for _ in range(3):
            make_image(project=project, gold_label=label)
    for _ in range(5):
        make_image(project=project)
    client = Client()
    client.force_login(make_user(role="annotator"))

    seen: dict[str, str] = {}  # sha256 -> where the annotator saw it
    tutorial = client.get(reverse("frontend:tutorial", args=[project.pk])).content.decode()
    for url in sorted(set(re.findall(r"/projects/\d+/tutorial/example/\d+\.jpg", tutorial))):
        seen[_sha(client.get(url).content)] = url
    assert len(seen) == 7
    client.post(reverse("frontend:tutorial", args=[project.pk]))

    quiz = client.get(reverse("frontend:quiz", args=[project.pk]))
    page = quiz.content.decode()
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    quiz_ids = [question["image"].pk for question in quiz.context["questions"]]
    for name, value in hidden.items():
        for raw in _decodings(value):
            try:
                decoded = json.loads(raw)
            except (UnicodeDecodeError, ValueError):
                continue
            raise AssertionError(f"hidden field {name} decodes to {decoded!r}")
        assert not any(re.search(rf"\b{image_id}\b", value) for image_id in quiz_ids), name
    for position in range(len(quiz_ids)):
        picture = client.get(reverse("frontend:quiz_picture", args=[project.pk, position]))
        assert picture.status_code == 200
        seen[_sha(picture.content)] = f"quiz picture {position}"
    # Pass the quiz (the test knows the answers; the annotator would have learnt them).
    answers = {f"answer-{n}": Image.objects.get(pk=i).gold_label for n, i in enumerate(quiz_ids)}
    passed = client.post(reverse("frontend:quiz", args=[project.pk]), {"token": hidden["token"], **answers})
    assert passed.status_code == 302 and passed.url.endswith("/label/")

    # Label everything there is; every gold check served must be a picture never seen before.
    checks = 0
    claimed = client.post(
        reverse("api:project-claim", args=[project.pk]), {"count": 1}, content_type="application/json"
    )
    queue = claimed.json()["assignments"]
    while queue:
        current = queue.pop(0)
        picture = client.get(current["image"]["url"])
        assert picture.status_code == 200
        if Assignment.objects.get(pk=current["id"]).is_gold:
            checks += 1
            assert _sha(picture.content) not in seen, (
                f"gold check {current['image']['id']} was {seen.get(_sha(picture.content))}"
            )
        answer = client.post(
            reverse("api:assignment-vote", args=[current["id"]]),
            {"label": 0, "next": 1},
            content_type="application/json",
        )
        assert answer.status_code == 201, answer.content
        queue += answer.json()["next"]
    assert checks == 21 - 7 - 3  # every other gold image was served as a check
