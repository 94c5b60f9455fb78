"""The per-process token memo in front of Redis (``annotation.apis.authentication``): a known
token costs no Redis round trip, and a token revoked in *another* process stops working here
at once, through the Redis channel that every process listens to; without a subscription the
memo is not used at all. Real Postgres and Redis, a real second process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from annotation.apis import authentication
from annotation.apis.authentication import FORGET_CHANNEL, _key, _memo
from annotation.throttling import _redis
from tests.annotation.factories import make_annotator, make_images, make_project

REPO_ROOT = Path(__file__).resolve().parents[2]


def _claim(client: APIClient, project) -> int:  # type: ignore[no-untyped-def]
    return client.post(reverse("api:project-claim", args=[project.pk]), {"count": 1}, format="json").status_code


def _until(predicate, what: str, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def _listening() -> bool:
    _memo._ensure_listener()
    return _memo._listening


@pytest.fixture
def annotator_client():  # type: ignore[no-untyped-def]
    project = make_project(gold_rate=0.0)
    make_images(project, 5)
    user = make_annotator(project)
    token = Token.objects.create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    _until(_listening, "the token listener to subscribe")
    return project, token, client


@pytest.mark.django_db
def test_a_known_token_is_served_from_the_process_memo(annotator_client):
    project, token, client = annotator_client
    assert _claim(client, project) == 200
    assert _memo.get(token.key) is not None
    # Neither Redis nor the database is asked again: with both entries gone behind the
    # signals' back, the memo still answers.
    cache.delete(_key(token.key))
    Token.objects.filter(pk=token.pk)._raw_delete(connection.alias)
    assert _claim(client, project) == 200


@pytest.mark.django_db
def test_a_role_taken_away_in_this_process_counts_on_the_next_request(annotator_client):
    from django.contrib.auth.models import Group

    project, token, client = annotator_client
    assert _claim(client, project) == 200
    token.user.groups.remove(Group.objects.get(name="annotator"))
    assert _memo.get(token.key) is None
    assert _claim(client, project) == 403


@pytest.mark.django_db(transaction=True)
def test_a_token_revoked_in_another_process_stops_working_here_at_once(annotator_client):
    project, token, client = annotator_client
    assert _claim(client, project) == 200
    assert _memo.get(token.key) is not None
    url = urlparse(os.environ["DATABASE_URL"])._replace(path="/" + connection.settings_dict["NAME"]).geturl()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(DATABASE_URL=url, DJANGO_SETTINGS_MODULE="config.settings")
    code = (
        "import django; django.setup(); from rest_framework.authtoken.models import Token; "
        f"assert Token.objects.filter(key={token.key!r}).delete()[0] == 1"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, check=True, timeout=60)
    # The message is on its way as soon as the other process has deleted the token.
    _until(lambda: _memo.get(token.key) is None, "the revocation to reach this process", timeout=1.0)
    assert _claim(client, project) in (401, 403)


@pytest.mark.django_db
def test_without_a_subscription_the_memo_is_not_used(annotator_client):
    project, token, client = annotator_client
    assert _claim(client, project) == 200
    assert _memo.get(token.key) is not None
    # Redis drops the listener's connection: the memo empties and every request reads Redis
    # until the listener has subscribed again (a message sent meanwhile would be lost).
    killed = _redis().client_kill_filter(_type="pubsub")
    assert killed >= 1
    _until(lambda: not _memo._listening or _memo.get(token.key) is None, "the memo to be dropped")
    assert _memo.get(token.key) is None
    cache.delete(_key(token.key))
    Token.objects.filter(pk=token.pk)._raw_delete(connection.alias)
    assert _claim(client, project) in (401, 403)  # read through: the token is gone
    _until(lambda: _memo._listening, "the listener to subscribe again", timeout=authentication.RESUBSCRIBE_S + 5)


def test_forgetting_publishes_on_the_channel():
    pubsub = _redis().pubsub()
    pubsub.subscribe(FORGET_CHANNEL)
    try:
        _until(lambda: pubsub.get_message(timeout=0.1) is not None, "the subscription")
        authentication.forget_tokens(["abc"])
        message = None
        deadline = time.monotonic() + 5
        while message is None or message["type"] != "message":
            assert time.monotonic() < deadline, "no message on the channel"
            message = pubsub.get_message(timeout=0.5)
        assert message["data"] in (b"abc", "abc")
    finally:
        pubsub.close()


class _FreezingProxy:
    """A TCP proxy to Redis that can stop forwarding while keeping every connection open: to the
    client, a connection that died without being closed (a partition, a frozen server)."""

    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self.frozen = threading.Event()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.upstream)
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                while self.frozen.is_set():  # hold the bytes: nothing is sent, nothing is closed
                    time.sleep(0.01)
                target.sendall(data)
        except OSError:
            pass

    def close(self) -> None:
        self.server.close()


def test_a_connection_that_goes_silent_ends_the_memo_within_seconds(monkeypatch):
    """No message and no answer to its pings for twice ``HEARTBEAT_S``: the listener counts its
    subscription as lost, the memo is emptied and bypassed, and it subscribes again once Redis
    answers. Without the pings, a half-open connection kept the memo in use until entries expired."""
    location = urlparse(settings.CACHES["default"]["LOCATION"])
    proxy = _FreezingProxy(location.hostname or "127.0.0.1", location.port or 6379)
    monkeypatch.setattr(authentication, "HEARTBEAT_S", 0.3)
    memo = authentication._TokenMemo()
    proxied = redis.Redis(host="127.0.0.1", port=proxy.port, db=int((location.path or "/0").strip("/") or 0))
    monkeypatch.setattr(memo, "_client", lambda: proxied)
    try:
        memo._ensure_listener()
        _until(lambda: memo._listening, "the listener to subscribe through the proxy")
        memo.put("k", ("user", "token", frozenset()), read_at=memo.generation)
        assert memo.get("k") is not None

        proxy.frozen.set()
        time.sleep(0.2)
        assert memo.get("k") is not None  # a short silence is not a lost connection
        _until(lambda: not memo._listening, "the silent connection to count as lost", timeout=3.0)
        assert memo.get("k") is None
        memo.put("k", ("user", "token", frozenset()), read_at=memo.generation)
        assert memo.get("k") is None  # nothing is kept while the listener is not subscribed

        proxy.frozen.clear()
        _until(lambda: memo._listening, "the listener to subscribe again", timeout=5.0)
    finally:
        proxy.frozen.clear()
        proxy.close()
