from __future__ import annotations

import threading

import pytest
from django.db import connection

from annotation.models import ReliabilityRun
from annotation.services.reliability import reliability_run_start
from annotation.tasks import reliability_run_task
from tests.annotation.reliability_factories import make_project


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_triggers_make_one_run(monkeypatch) -> None:
    sent: list[tuple] = []
    monkeypatch.setattr(reliability_run_task, "apply_async", lambda args, **kw: sent.append(args))
    project = make_project()
    barrier = threading.Barrier(2)
    runs: list[int] = []
    errors: list[BaseException] = []

    def trigger() -> None:
        try:
            barrier.wait()
            runs.append(reliability_run_start(project=project).pk)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=trigger) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(set(runs)) == 1
    assert ReliabilityRun.objects.filter(project=project).count() == 1
    assert len(sent) == 1
