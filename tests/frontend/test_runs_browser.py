"""An admin recomputes reliability from the dashboard and exports the dataset, in Debian chromium."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from django.test import Client

from annotation.models import AnnotatorReliability, DatasetExport, Job, JobStatus, ReliabilityRun
from annotation.services.reliability import reliability_run_execute
from tests.annotation.export_factories import user
from tests.factories import RUNNING_LEASE
from tests.frontend.test_run_pages import make_finished_training, simulated_project

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


# Every control has a name (its text, a label or aria-label).
UNNAMED_CONTROLS = """() => [...document.querySelectorAll('button, a, input:not([type=hidden]), select')]
    .filter(el => !(el.getAttribute('aria-label') || el.labels?.length || el.textContent.trim()))
    .map(el => el.outerHTML)"""


def login(context, live_server, account) -> None:
    client = Client()
    client.force_login(account)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])


def test_it_recomputes_reliability_then_exports_the_dataset(live_server, browser, screenshots):
    project = simulated_project(images=10, annotators=6, seed=5)
    admin = user("boss", "admin")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    login(context, live_server, admin)
    page = context.new_page()
    page.set_default_timeout(20000)

    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name=f"Dashboard of {project.name}").click()
    page.get_by_role("heading", name=f"Dashboard: {project.name}").wait_for()
    assert page.locator("#annotators tbody tr").count() == 6
    assert "–" in page.locator("#annotators tbody tr").first.locator("td").nth(5).text_content()

    page.get_by_role("button", name="Recompute reliability").click()
    # The job finishes, the page reloads and names the new current run.
    current = page.locator("#current-run a", has_text=re.compile(r"run \d+"))
    current.wait_for()
    run = ReliabilityRun.objects.get(project=project, is_current=True)
    assert current.text_content() == f"run {run.pk}"
    # The table shows each annotator's estimated accuracy (a share), not the raw reliability.
    reliabilities = {
        row.annotator.username: f"{round(row.accuracy * 100)}%"
        for row in AnnotatorReliability.objects.filter(run=run).select_related("annotator")
    }
    assert len(reliabilities) == 6
    for username, shown in reliabilities.items():
        cell = page.locator("#annotators tbody tr", has_text=username).locator("td").nth(5)
        assert cell.text_content().startswith(shown)
    screenshots(page, "20-dashboard-reliability")

    current.click()
    page.get_by_role("heading", name=re.compile(f"Reliability run {run.pk}")).wait_for()
    assert page.locator("#run-annotators tbody tr").count() == 6
    page.get_by_role("button", name="Export dataset").click()
    link = page.locator("#export-link").get_by_role("link", name=re.compile(r"Download export \d+"))
    link.wait_for()
    # The new export also joins the run's list of exports.
    assert page.locator("#export-list tbody tr").count() == 1
    export = DatasetExport.objects.get(run=run)
    assert link.text_content() == f"Download export {export.pk}"
    assert export.created_by == admin
    screenshots(page, "21-reliability-run-export")
    response = page.request.get(live_server.url + link.get_attribute("href"))
    assert response.ok
    names = zipfile.ZipFile(io.BytesIO(response.body())).namelist()
    assert any(name.endswith("annotators.csv") for name in names)
    assert export.format == "rafdb"

    # The same run in the Hugging Face format: Parquet shards, dataset card and croissant.json.
    page.get_by_label(re.compile("Hugging Face datasets")).check()
    page.get_by_role("button", name="Export dataset").click()
    hf = DatasetExport.objects.exclude(pk=export.pk)
    link = page.locator("#export-link").get_by_role("link", name=re.compile(r"Download export \d+"))
    page.wait_for_function(f"() => !document.querySelector('#export-link a')?.textContent.endsWith(' {export.pk}')")
    link.wait_for()
    hf_export = hf.get(run=run)
    assert hf_export.format == "hf" and len(hf_export.content_hash) == 64
    assert page.locator("#export-list tbody tr").count() == 2
    assert page.locator("#export-list tbody tr").first.locator("td").nth(1).text_content() == "hf"
    assert hf_export.content_hash[:12] in page.locator("#export-link").text_content()
    screenshots(page, "23-reliability-run-export-hf")
    names = zipfile.ZipFile(
        io.BytesIO(page.request.get(live_server.url + link.get_attribute("href")).body())
    ).namelist()
    assert {"croissant.json", "README.md", "checksums.sha256"} <= set(names)
    assert any(name.startswith("data/") and name.endswith(".parquet") for name in names)

    assert page.evaluate(UNNAMED_CONTROLS) == []
    page.get_by_role("link", name="Reliability and training runs").click()
    current_row = page.locator("#reliability-runs tr.current-run")
    current_row.wait_for()
    assert current_row.get_attribute("data-run") == str(run.pk)
    screenshots(page, "24-runs")
    page.go_back()
    page.set_viewport_size({"width": 360, "height": 740})
    wide = page.evaluate(
        """() => [...document.querySelectorAll('main *')].filter(el => el.getBoundingClientRect().right > 361
            && !el.closest('.table-wrap')).map(el => el.tagName + '#' + el.id + '.' + el.className).slice(0, 8)"""
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, wide
    screenshots(page, "22-reliability-run-360px")
    context.close()


def test_it_shows_a_training_runs_plots_to_a_researcher_on_a_phone(live_server, browser, screenshots):
    project = simulated_project(images=4, annotators=5, seed=6)
    run = reliability_run_execute(run=ReliabilityRun.objects.create(project=project))
    training = make_finished_training(run)
    context = browser.new_context(viewport={"width": 360, "height": 740})
    login(context, live_server, user("rita", "researcher"))
    page = context.new_page()
    page.set_default_timeout(20000)
    page.goto(f"{live_server.url}/training-runs/{training.pk}/")
    plot = page.get_by_role("img", name=re.compile("Plot: curves"))
    plot.wait_for()
    page.wait_for_function("() => [...document.images].every((img) => img.complete && img.naturalWidth > 0)")
    assert page.get_by_role("link", name=re.compile("Model zip")).is_visible()
    assert page.get_by_role("button", name="Set as current model").count() == 0  # admins only
    assert page.evaluate(UNNAMED_CONTROLS) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    screenshots(page, "23-training-run-360px")
    context.close()


def test_it_follows_a_run_that_a_worker_finishes_later(live_server, browser):
    """A run queued elsewhere (say by the API): the page shows its job and polls until it ends."""
    project = simulated_project(images=4, annotators=5, seed=7)
    job = Job.objects.create(
        kind="reliability", project=project, status=JobStatus.RUNNING, **RUNNING_LEASE, progress=0.25
    )
    run = ReliabilityRun.objects.create(project=project, job=job)
    context = browser.new_context(viewport={"width": 1024, "height": 800})
    login(context, live_server, user("ada", "admin"))
    page = context.new_page()
    page.set_default_timeout(20000)
    page.goto(f"{live_server.url}/projects/{project.pk}/runs/")
    assert page.get_by_role("button", name="Recompute reliability").is_disabled()
    page.wait_for_function("() => document.getElementById('recompute-status').textContent.includes('25%')")
    # The "worker" finishes the run; the page notices on its next poll and reloads.
    reliability_run_execute(run=run)
    Job.objects.filter(pk=job.pk).update(status=JobStatus.SUCCEEDED, progress=1.0, lease_owner="")
    page.locator(f"#reliability-runs tr.current-run[data-run='{run.pk}']").wait_for()
    assert page.get_by_role("button", name="Recompute reliability").is_enabled()
    context.close()
