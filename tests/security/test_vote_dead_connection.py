"""A database connection the server ended while it sat idle in a web process (a restart of
Postgres, an idle-session timeout, an operator's pg_terminate_backend) must not fail the next
vote: the vote statement skips Django's per-request health check, so it checks the socket itself
and runs once more on a fresh connection."""

from __future__ import annotations

import time

import psycopg
import pytest
from django.db import connection

from annotation.models import Vote
from tests.annotation.factories import make_annotator, make_images, make_project
from tests.annotation.test_vote_hot_path import claim, token_client, vote

pytestmark = [pytest.mark.django_db(transaction=True)]


def _kill_web_connection() -> None:
    pid = connection.connection.info.backend_pid
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        for _ in range(100):  # wait until the backend is gone
            if not admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone():
                break
            time.sleep(0.02)


@pytest.mark.parametrize("socket_check", [True, False], ids=["seen-before-sending", "server-says-session-ended"])
def test_a_vote_survives_a_connection_the_server_ended(monkeypatch, socket_check: bool) -> None:
    if not socket_check:  # the second line of defence alone: SQLSTATE 57P01 from the server
        monkeypatch.setattr("annotation.sql._dropped", lambda: False)
    project = make_project(gold_rate=0.0, votes_wanted=2)
    make_images(project, 4)
    client = token_client(make_annotator(project))
    [current] = claim(client, project)
    response = vote(client, current["id"], label=0)
    assert response.status_code == 201
    [current] = response.json()["next"]
    _kill_web_connection()
    response = vote(client, current["id"], label=0)
    assert response.status_code == 201, response.content
    assert Vote.objects.count() == 2
