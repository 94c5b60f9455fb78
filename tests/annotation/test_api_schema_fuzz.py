"""The API answers what its OpenAPI schema says, for inputs schemathesis generates from that
schema (all its checks: no 5xx, documented status codes, content types and bodies, ...).

A short run for the suite: a few examples per operation, as an admin (who may call every
operation) on a small project. The full run (``schemathesis run --checks all`` against a
server, thousands of cases per role) is in docs/security.md."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, settings
from rest_framework.authtoken.models import Token

from tests.annotation.factories import make_gold, make_images, make_project, make_user, qualify

# Operations that start jobs run them in-process in tests (eager Celery): a generated body may
# start a training run or a URL import. Their input validation is still fuzzed through the
# error paths; their happy path has its own tests.
SLOW = r"(/imports|/exports|/training-runs|/reliability-runs|/faces/detect|/predict)$"


def _plain(value: object) -> object:
    return float(value) if isinstance(value, Decimal) else str(value)


_spec = json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True), default=_plain))
schema = schemathesis.openapi.from_dict(_spec).exclude(path_regex=SLOW, method="POST")
schema.app = get_wsgi_application()


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """The WSGI handler closes old connections around each request; the test's transaction lives
    on that connection (Django's test client disconnects the same receivers)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


_token: dict[str, str] = {}


@schemathesis.auth(refresh_interval=None)
class AdminToken:
    """The admin's token on every generated request, where schemathesis knows it is auth (its
    ``ignored_auth`` check sends the same request with it removed or broken)."""

    def get(self, case, context) -> str:
        return _token.get("key", "")

    def set(self, case, data: str, context) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Token {data}"}


@pytest.fixture
def admin_token(db) -> None:
    project = make_project(votes_wanted=3)
    make_images(project, 5)
    make_gold(project, 2)
    admin = make_user("admin")
    qualify(admin, project)
    _token["key"] = Token.objects.create(user=admin).key


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    database=None,  # the same examples on every run and machine, nothing written
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_the_api_answers_as_its_schema_says(case, admin_token) -> None:
    case.call_and_validate()
