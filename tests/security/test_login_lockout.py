"""Brute force on the three ways to log in: /login/, /admin/login/ and the token endpoint. After
AXES_FAILURE_LIMIT wrong passwords for one username, or from one client address, even the right
password is refused until the cool-off ends or an admin lifts the lockout. A new
X-Forwarded-For per request buys nothing unless proxies are configured."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client, RequestFactory

from config.client_address import client_address

pytestmark = [pytest.mark.django_db]
PASSWORD = "right-horse-battery"
LIMIT = 5


@pytest.fixture(autouse=True)
def _limit(settings):
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.RAF_TOKEN_RATE = ""  # the lockout alone, not the per-address throttle


@pytest.fixture
def admin() -> User:
    return User.objects.create_superuser("admin", password=PASSWORD)


def _token(client: Client, username: str, password: str, **headers: str):
    return client.post(
        "/api/v1/auth/token", {"username": username, "password": password}, content_type="application/json", **headers
    )


def test_it_locks_the_login_page_after_wrong_passwords(admin) -> None:
    client = Client()
    for n in range(LIMIT):
        # The failure that reaches the limit is answered with the lockout page already.
        expected = 200 if n < LIMIT - 1 else 429
        assert client.post("/login/", {"username": "admin", "password": "guess"}).status_code == expected
    response = client.post("/login/", {"username": "admin", "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_it_locks_the_admin_login_after_wrong_passwords(admin) -> None:
    client = Client()
    for _ in range(LIMIT):
        client.post("/admin/login/", {"username": "admin", "password": "guess"})
    response = client.post("/admin/login/", {"username": "admin", "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_it_locks_the_token_endpoint_whatever_x_forwarded_for_says(admin) -> None:
    client = Client()
    for n in range(LIMIT):
        response = _token(client, "admin", "guess", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
        assert response.status_code == 400
    response = _token(client, "admin", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.77")
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "locked_out"


def test_it_locks_an_address_that_tries_many_usernames(admin) -> None:
    client = Client()
    for n in range(LIMIT):
        _token(client, f"someone{n}", "guess")
    # Another account, right password, same address: refused too.
    assert _token(client, "admin", PASSWORD).status_code == 429
    # Another address is not locked for that account.
    assert _token(Client(REMOTE_ADDR="192.0.2.9"), "admin", PASSWORD).status_code == 200


def test_an_admin_lifts_a_lockout(admin) -> None:
    client = Client()
    for _ in range(LIMIT):
        _token(client, "admin", "guess")
    assert AccessAttempt.objects.filter(username="admin").exists()  # seen in the admin
    assert _token(client, "admin", PASSWORD).status_code == 429
    call_command("axes_reset")
    assert _token(client, "admin", PASSWORD).status_code == 200


def test_the_client_address_comes_from_the_trusted_proxies_only(settings) -> None:
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.5")
    settings.RAF_TRUSTED_PROXIES = 0
    assert client_address(request) == "10.0.0.2"
    settings.RAF_TRUSTED_PROXIES = 1
    assert client_address(request) == "203.0.113.5"  # what our one proxy saw; 6.6.6.6 is the client's word
