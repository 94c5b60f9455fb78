"""docker-compose.yml has the services, commands, queues, GPU reservation and volumes we rely on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    # safe_load resolves the `<<: *app` merge keys, so every service shows its final shape.
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def command_of(service: dict[str, Any]) -> str:
    command = service["command"]
    return " ".join(command) if isinstance(command, list) else str(command)


def test_it_declares_the_services(compose: dict[str, Any]) -> None:
    assert {"postgres", "redis", "web", "worker", "gpu-worker"} <= set(compose["services"])


def test_it_migrates_then_serves_with_granian(compose: dict[str, Any]) -> None:
    command = command_of(compose["services"]["web"])
    assert "manage.py migrate" in command and "granian" in command
    assert command.index("migrate") < command.index("granian")
    assert "--interface wsgi" in command and "config.wsgi:application" in command


def test_make_run_serves_with_the_same_web_server() -> None:
    procfile = (ROOT / "Procfile").read_text()
    [web] = [line for line in procfile.splitlines() if line.startswith("web:")]
    assert "granian --interface wsgi" in web and "config.wsgi:application" in web
    assert web.index("migrate") < web.index("load_demo") < web.index("granian")


def test_it_runs_a_default_worker_and_a_single_gpu_worker(compose: dict[str, Any]) -> None:
    worker = command_of(compose["services"]["worker"]).split()
    gpu = command_of(compose["services"]["gpu-worker"]).split()
    assert "celery" in worker and worker[worker.index("--queues") + 1] == "default"
    assert "celery" in gpu and gpu[gpu.index("--queues") + 1] == "gpu"
    assert gpu[gpu.index("--concurrency") + 1] == "1"


def test_it_reserves_an_nvidia_device_for_the_gpu_worker(compose: dict[str, Any]) -> None:
    devices = compose["services"]["gpu-worker"]["deploy"]["resources"]["reservations"]["devices"]
    assert any(d.get("driver") == "nvidia" and "gpu" in d.get("capabilities", []) for d in devices)
    assert "deploy" not in compose["services"]["worker"]


def test_it_keeps_database_and_media_on_named_volumes(compose: dict[str, Any]) -> None:
    declared = set(compose["volumes"])

    def named_volumes(service: str) -> dict[str, str]:
        mounts = [m.split(":") for m in compose["services"][service].get("volumes", [])]
        return {source: target for source, target, *_ in mounts if source in declared}

    assert "/var/lib/postgresql/data" in named_volumes("postgres").values()
    for service in ("web", "worker", "gpu-worker"):
        media = named_volumes(service)
        env = compose["services"][service]["environment"]
        assert env["MEDIA_ROOT"] in media.values(), service


def test_it_runs_the_app_in_production_mode_with_the_broker(compose: dict[str, Any]) -> None:
    for service in ("web", "worker", "gpu-worker"):
        env = compose["services"][service]["environment"]
        assert env["RAF_ENV"] == "production" and str(env["DEBUG"]).lower() == "false"
        assert env["DATABASE_URL"].startswith("postgres://") and env["REDIS_URL"].startswith("redis://")
        assert "SECRET_KEY" in env and "ALLOWED_HOSTS" in env
        depends = compose["services"][service]["depends_on"]
        assert depends["postgres"]["condition"] == depends["redis"]["condition"] == "service_healthy"
