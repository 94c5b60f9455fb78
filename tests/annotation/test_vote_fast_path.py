"""The WSGI vote fast path (annotation.apis.vote_fast_path): it answers plain votes exactly as
Django's path does (status, headers, body shape, database writes), and hands everything else
to Django with the body replayed."""

from __future__ import annotations

import io
import json
import sys
from datetime import timedelta

import pytest
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from annotation.apis.vote_fast_path import VoteFastPath
from annotation.models import Assignment, Vote
from annotation.models.assignment import AssignmentStatus
from annotation.services.assignment import assignment_claim_next
from tests.annotation.factories import assert_counters_consistent, make_annotator, make_images, make_project, make_user
from tests.conftest import requires_postgres

pytestmark = [requires_postgres, pytest.mark.django_db]

CSRF_SECRET = "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6"  # 32 allowed characters: an unmasked CSRF secret


class SpyApp:
    """Django's WSGI application, counting the requests handed to it."""

    def __init__(self) -> None:
        self.django = WSGIHandler()
        self.calls = 0

    def __call__(self, environ, start_response):
        self.calls += 1
        return self.django(environ, start_response)


def post(app, path: str, body: bytes, *, content_type: str = "application/json", **headers: str):
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "testserver",
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        **headers,
    }
    answer: dict = {}

    def start_response(status, response_headers, exc_info=None):
        answer["status"] = int(status.split()[0])
        answer["headers"] = response_headers

    # As Django's test client: the test's transaction holds the connection, so the request
    # signals must not recycle it.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        chunks = app(environ, start_response)
        try:
            content = b"".join(chunks)
        finally:
            getattr(chunks, "close", lambda: None)()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
    headers = dict(answer["headers"])
    body = json.loads(content) if headers.get("Content-Type") == "application/json" else content.decode()
    return answer["status"], headers, body


def vote_path(assignment_id: int) -> str:
    return reverse("api:assignment-vote", args=[assignment_id])


def vote_body(label: int = 2, n_next: int = 1) -> bytes:
    return json.dumps({"label": label, "time_taken_ms": 900, "next": n_next}).encode()


def token_header(user) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=user).key}"}


@pytest.fixture
def project():
    project = make_project(gold_rate=0.0, votes_wanted=5)
    make_images(project, 12)
    return project


def first_vote(app, user, project, headers) -> dict:
    """Claim and vote once (through Django's path: the process learns the annotator's project);
    returns the next assignment."""
    [assignment] = assignment_claim_next(annotator=user, project=project, count=1)
    status, _, body = post(app, vote_path(assignment.pk), vote_body(), **headers)
    assert status == 201, body
    return body["next"][0]


def test_it_answers_a_token_vote_exactly_as_django_does(project):
    fast, plain = SpyApp(), SpyApp()
    fast_app, plain_app = VoteFastPath(fast, enabled=True), VoteFastPath(plain, enabled=False)
    alice, bob = make_annotator(project), make_annotator(project)
    alice_headers, bob_headers = token_header(alice), token_header(bob)
    alice_next = first_vote(fast_app, alice, project, alice_headers)
    bob_next = first_vote(plain_app, bob, project, bob_headers)
    fast.calls = plain.calls = 0

    fast_status, fast_headers, fast_body = post(fast_app, vote_path(alice_next["id"]), vote_body(3), **alice_headers)
    plain_status, plain_headers, plain_body = post(plain_app, vote_path(bob_next["id"]), vote_body(3), **bob_headers)

    assert fast.calls == 0, "the fast path handed a plain vote to Django"
    assert plain.calls == 1
    assert fast_status == plain_status == 201
    # The same headers, values included (the lengths differ only with the ids in the body).
    assert fast_headers.keys() == plain_headers.keys()
    assert {k: v for k, v in fast_headers.items() if k != "Content-Length"} == {
        k: v for k, v in plain_headers.items() if k != "Content-Length"
    }
    assert int(fast_headers["Content-Length"]) > 0
    # The same body, but for the ids and the expiry times.
    assert fast_body["vote"] == {"id": fast_body["vote"]["id"], "label": 3, "counted": True, "late": False}
    assert plain_body["vote"] == {"id": plain_body["vote"]["id"], "label": 3, "counted": True, "late": False}
    assert fast_body["progress"] == plain_body["progress"]
    assert [sorted(a) for a in fast_body["next"]] == [sorted(a) for a in plain_body["next"]]
    assert fast_body["next"][0]["image"]["url"].endswith(f"/{fast_body['next'][0]['image']['id']}/display")
    stored = Vote.objects.get(pk=fast_body["vote"]["id"])
    assert (stored.annotator_id, stored.label, stored.counted) == (alice.pk, 3, True)
    assert Assignment.objects.get(pk=alice_next["id"]).status == AssignmentStatus.VOTED
    assert_counters_consistent(project)


def test_it_answers_a_session_vote_only_with_the_csrf_token(project):
    spy = SpyApp()
    app = VoteFastPath(spy, enabled=True)
    user = make_annotator(project)
    browser = Client()
    browser.force_login(user)
    session = browser.cookies["sessionid"].value
    cookies = f"sessionid={session}; csrftoken={CSRF_SECRET}"
    following = first_vote(app, user, project, {"HTTP_COOKIE": cookies, "HTTP_X_CSRFTOKEN": CSRF_SECRET})
    spy.calls = 0

    # Without the CSRF header: Django's path refuses it, nothing written.
    status, _, body = post(app, vote_path(following["id"]), vote_body(), HTTP_COOKIE=cookies)
    assert status == 403 and spy.calls == 1, body
    assert body["error"]["code"] == "permission_denied"
    assert Assignment.objects.get(pk=following["id"]).status == AssignmentStatus.OPEN

    spy.calls = 0
    status, headers, body = post(
        app, vote_path(following["id"]), vote_body(), HTTP_COOKIE=cookies, HTTP_X_CSRFTOKEN=CSRF_SECRET
    )
    assert status == 201 and spy.calls == 0, body
    assert "Cookie" in headers["Vary"]  # the session was read, as on Django's path
    assert Vote.objects.filter(annotator=user).count() == 2


def test_it_hands_everything_else_to_django_with_the_body_replayed(project, monkeypatch):
    spy = SpyApp()
    app = VoteFastPath(spy, enabled=True)
    user = make_annotator(project)
    headers = token_header(user)
    following = first_vote(app, user, project, headers)
    assignment_id = following["id"]

    def handed(*args, **kwargs):
        spy.calls = 0
        answer = post(app, *args, **kwargs)
        assert spy.calls == 1, "the fast path answered a request it should hand over"
        return answer

    # Not JSON integers: the serializer's words.
    status, _, body = handed(vote_path(assignment_id), b'{"label": "happy"}', **headers)
    assert status == 400 and body["error"]["code"] == "invalid"
    status, _, body = handed(vote_path(assignment_id), b"{not json", **headers)
    assert status == 400 and body["error"]["code"] == "parse_error"
    # A label outside the project's classes: the statement writes nothing, the view refuses it.
    status, _, body = handed(vote_path(assignment_id), vote_body(label=9), **headers)
    assert status == 400 and body["error"]["code"] == "invalid_label"
    # No or a refused credential, or the wrong role.
    status, _, body = handed(vote_path(assignment_id), vote_body())
    assert status in (401, 403)
    status, _, body = handed(vote_path(assignment_id), vote_body(), HTTP_AUTHORIZATION="Token nope")
    assert status == 403 and body["error"]["code"] == "authentication_failed"
    status, _, body = handed(vote_path(assignment_id), vote_body(), **token_header(make_user("researcher")))
    assert status == 403
    # A host outside ALLOWED_HOSTS.
    status, _, _ = handed(vote_path(assignment_id), vote_body(), HTTP_HOST="evil.example", **headers)
    assert status == 400
    assert Assignment.objects.get(pk=assignment_id).status == AssignmentStatus.OPEN
    # A form body: Django parses it, and the vote is stored once.
    status, _, body = handed(
        vote_path(assignment_id),
        b"label=4&time_taken_ms=800&next=1",
        content_type="application/x-www-form-urlencoded",
        **headers,
    )
    assert status == 201 and body["vote"]["label"] == 4, body
    # An expired, released and filled reservation: kept late, with the notice, by the view.
    [late] = body["next"]
    Assignment.objects.filter(pk=late["id"]).update(
        status=AssignmentStatus.EXPIRED, expires_at=timezone.now() - timedelta(seconds=5)
    )
    # The fast path tries the one statement (nothing written), and the view does not try it again.
    from annotation.apis import assignments

    statements = []
    one_statement = assignments.vote_answer_in_one_statement
    monkeypatch.setattr(
        assignments,
        "vote_answer_in_one_statement",
        lambda *args: statements.append(args[1]) or one_statement(*args),
    )
    status, _, body = handed(vote_path(late["id"]), vote_body(), **headers)
    assert status == 201 and statements == [late["id"]]
    assert Vote.objects.filter(annotator=user).count() == 3
    spy.calls = 0
    status, _, body = post(app, vote_path(late["id"]), vote_body(), **headers)
    assert status == 409 and body["error"]["code"] == "already_voted"


def test_the_wsgi_entry_point_puts_the_fast_path_in_front():
    from config import wsgi

    assert isinstance(wsgi.application, VoteFastPath)
    assert wsgi.application.app is wsgi.django_application


class WrapsTheView:
    """A middleware that works only by wrapping the rest of the chain: the fast path cannot
    stand in for it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response["X-Wrapped"] = "yes"
        return response


def test_it_stays_off_behind_a_middleware_it_cannot_stand_in_for(project, settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "tests.annotation.test_vote_fast_path.WrapsTheView"]
    spy = SpyApp()
    app = VoteFastPath(spy, enabled=True)
    assert app.prepare() is False
    user = make_annotator(project)
    headers = token_header(user)
    following = first_vote(app, user, project, headers)
    spy.calls = 0
    status, answer_headers, _ = post(app, vote_path(following["id"]), vote_body(), **headers)
    assert status == 201 and spy.calls == 1 and answer_headers["X-Wrapped"] == "yes"
