"""Production settings refuse unsafe values. Each case is a fresh interpreter running
``django.setup()`` with its own environment; they run in parallel to keep the suite quick."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
# What secrets.token_urlsafe(50) gives (a fixed one): about 370 bits by secret_key_bits.
GOOD_SECRET = "q7Vb2mX9pL4wRt8nZc1KsE6yHu3JfA0dGi5oNe-TvWxY_aBrCkMlPjQsDhFgUzIt"
SETUP = "import django; django.setup(); from django.conf import settings; "
REPORT_SECURITY = SETUP + (
    "import json; print(json.dumps({'debug': settings.DEBUG, 'hosts': settings.ALLOWED_HOSTS, "
    "'secure_cookies': getattr(settings, 'SESSION_COOKIE_SECURE', False), "
    "'private_downloads': settings.RAF_DOWNLOAD_ALLOW_PRIVATE}))"
)
PRODUCTION = {"RAF_ENV": "production"}
# Named, never connected to: settings only parse them.
SERVERS = {"DATABASE_URL": "postgres://raf@db.invalid:5432/raf", "REDIS_URL": "redis://redis.invalid:6379/0"}

CASES: dict[str, tuple[dict[str, str], str]] = {
    "prod-nothing-set": (PRODUCTION, REPORT_SECURITY),
    "prod-no-servers": ({**PRODUCTION, "SECRET_KEY": GOOD_SECRET, "ALLOWED_HOSTS": "raf.example"}, ""),
    "prod-debug-on": ({**PRODUCTION, "DEBUG": "true", "SECRET_KEY": GOOD_SECRET, "ALLOWED_HOSTS": "raf.example"}, ""),
    "prod-default-secret": (
        {**PRODUCTION, "SECRET_KEY": "dev-only-insecure-secret-key-change-me", "ALLOWED_HOSTS": "raf.example"},
        "",
    ),
    "prod-short-secret": ({**PRODUCTION, "SECRET_KEY": "short", "ALLOWED_HOSTS": "raf.example"}, ""),
    "prod-empty-hosts": ({**PRODUCTION, "SECRET_KEY": GOOD_SECRET, "ALLOWED_HOSTS": " , "}, ""),
    "prod-32-a": ({**PRODUCTION, **SERVERS, "SECRET_KEY": "a" * 32, "ALLOWED_HOSTS": "raf.example"}, ""),
    "prod-low-entropy": (
        {**PRODUCTION, **SERVERS, "SECRET_KEY": "k3y-" + "x" * 60, "ALLOWED_HOSTS": "raf.example"},
        "",
    ),
    "prod-wildcard-hosts": ({**PRODUCTION, **SERVERS, "SECRET_KEY": GOOD_SECRET, "ALLOWED_HOSTS": "*"}, ""),
    "prod-subdomain-wildcard": (
        {**PRODUCTION, **SERVERS, "SECRET_KEY": GOOD_SECRET, "ALLOWED_HOSTS": "raf.example,*.example"},
        "",
    ),
    # The documented production environment (docs/security.md): check --deploy finds nothing.
    "prod-check-deploy": (
        {**PRODUCTION, **SERVERS, "SECRET_KEY": GOOD_SECRET, "ALLOWED_HOSTS": "raf.example"},
        "import sys; from django.core.management import execute_from_command_line; "
        "execute_from_command_line(['manage.py', 'check', '--deploy', '--fail-level', 'WARNING'])",
    ),
    "prod-https-from-env": (
        {
            **PRODUCTION,
            **SERVERS,
            "SECRET_KEY": GOOD_SECRET,
            "ALLOWED_HOSTS": "raf.example",
            "RAF_SSL_REDIRECT": "false",
            "RAF_HSTS_SECONDS": "0",
            "SESSION_COOKIE_SECURE": "false",
        },
        SETUP + "import json; print(json.dumps([settings.SECURE_SSL_REDIRECT, settings.SECURE_HSTS_SECONDS, "
        "settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE]))",
    ),
    "prod-good": (
        {**PRODUCTION, **SERVERS, "SECRET_KEY": GOOD_SECRET, "ALLOWED_HOSTS": "raf.example,www.raf.example"},
        "",
    ),
}
CLEARED = (
    "RAF_ENV", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "REDIS_URL", "CELERY_BROKER_URL", "DATABASE_URL",
    "RAF_SSL_REDIRECT", "RAF_HSTS_SECONDS", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE",
    # Set by the browser tests' fixtures in this process; check --deploy refuses it (async.E001).
    "DJANGO_ALLOW_ASYNC_UNSAFE",
)  # fmt: skip


@pytest.fixture(scope="module")
def outcomes() -> dict[str, subprocess.CompletedProcess[str]]:
    base = {key: value for key, value in os.environ.items() if key not in CLEARED}
    base["DJANGO_SETTINGS_MODULE"] = "config.settings"
    running = {
        name: subprocess.Popen(
            [sys.executable, "-c", code or REPORT_SECURITY],
            cwd=ROOT,
            env={**base, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, (env, code) in CASES.items()
    }
    done = {}
    for name, process in running.items():
        stdout, stderr = process.communicate(timeout=120)
        done[name] = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    return done


@pytest.mark.parametrize(
    ("case", "problem"),
    [
        ("prod-nothing-set", "SECRET_KEY must be set"),
        ("prod-nothing-set", "ALLOWED_HOSTS must not be empty"),
        ("prod-debug-on", "DEBUG must be off"),
        ("prod-default-secret", "SECRET_KEY must be set"),
        ("prod-short-secret", "SECRET_KEY must be set"),
        ("prod-32-a", "SECRET_KEY must be set"),
        ("prod-low-entropy", "SECRET_KEY must be set"),
        ("prod-wildcard-hosts", "ALLOWED_HOSTS must name the hosts"),
        ("prod-subdomain-wildcard", "ALLOWED_HOSTS must name the hosts"),
        ("prod-empty-hosts", "ALLOWED_HOSTS must not be empty"),
        ("prod-no-servers", "DATABASE_URL must be set"),
        ("prod-no-servers", "REDIS_URL must be set"),
    ],
)
def test_it_refuses_to_start_production_with_unsafe_settings(outcomes, case: str, problem: str) -> None:
    result = outcomes[case]
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and problem in result.stderr


def test_it_starts_production_with_safe_settings(outcomes) -> None:
    result = outcomes["prod-good"]
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {
        "debug": False,
        "hosts": ["raf.example", "www.raf.example"],
        "secure_cookies": True,
        "private_downloads": False,
    }


def test_check_deploy_is_clean_with_the_documented_production_environment(outcomes) -> None:
    result = outcomes["prod-check-deploy"]
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_https_settings_come_from_the_environment(outcomes) -> None:
    result = outcomes["prod-https-from-env"]
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [False, 0, False, True]
