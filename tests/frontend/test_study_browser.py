"""A Prolific study in a real browser (Debian chromium): one participant passes the quiz,
labels the quota and is sent back with the completion code; another is screened out by the
quiz. The project's export then holds no participant id, and the payment CSV lists both."""

from __future__ import annotations

import csv
import html
import io
import re
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.cache import cache

from annotation.models import Image, StudyEnrolment, Vote
from annotation.services.exports import dataset_export_to_path
from annotation.services.qualification import quiz_image_ids
from annotation.services.reliability import reliability_run_start
from tests.annotation.study_factories import make_study, study_project
from tests.factories import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "raf-browser-test-pass"
PASSES, FAILS = "5f0c0a1b2c3d4e5f60718293", "60aaaaaaaaaaaaaaaaaaaaaa"
SESSIONS = {PASSES: "sess-pass-81", FAILS: "sess-fail-82"}
MARKET_STUDY = "64b0f0e0d0c0b0a090807060"
QUOTA = 4


@pytest.fixture(autouse=True)
def _fresh_rate_limit():
    cache.clear()


def _answer_quiz(page, *, right: bool) -> None:
    token = page.locator("input[name=token]").input_value()
    for position, image_id in enumerate(quiz_image_ids(token=token)):
        gold = Image.objects.get(pk=image_id).gold_label
        answer = gold if right else (gold + 1) % 7
        page.locator(f"input[name=answer-{position}][value='{answer}']").check()
    page.get_by_role("button", name="Submit answers").click()


def _serve_worker_pages(frames: dict[str, str]) -> ThreadingHTTPServer:
    """A worker's MTurk page framing each of ``frames`` (path -> framed URL), served from a real
    loopback server on another site than the live server's (127.0.0.1, not localhost): on plain
    http like it (an https page may not frame an http one), and on the loopback, because
    chromium refuses to let a public page (one a test route makes up) frame a local one."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            body = f'<h1>MTurk</h1><iframe id="hit" src="{html.escape(frames[self.path])}" width="340" height="600">'
            data = (body + "</iframe>").encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _arrive(browser, live_server, study, participant):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    prolific = []

    def fake_prolific(route):  # the market's page, answered here (nothing leaves the machine)
        prolific.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<h1>Prolific</h1>")

    context.route("https://app.prolific.com/**", fake_prolific)
    page = context.new_page()
    page.set_default_timeout(20000)
    query = f"PROLIFIC_PID={participant}&STUDY_ID={MARKET_STUDY}&SESSION_ID={SESSIONS[participant]}"
    page.goto(f"{live_server.url}/study/{study.entry_key}/?{query}")
    return context, page, prolific


def test_it_runs_a_prolific_study_from_link_to_completion_code_and_payment(live_server, browser, screenshots, tmp_path):
    project = study_project(name="Study project", regular=8)
    study = make_study(project=project, quota=QUOTA, market_study_id=MARKET_STUDY, bonus_per_vote="0.10")

    # 1. A participant arrives from Prolific, reads the tutorial, passes the quiz, labels the quota.
    context, page, prolific = _arrive(browser, live_server, study, PASSES)
    page.get_by_role("heading", name="Tutorial: Study project").wait_for()
    assert PASSES not in page.content()
    screenshots(page, "study-01-tutorial")
    page.get_by_role("button", name=re.compile("I have read the tutorial")).click()
    page.get_by_role("heading", name=re.compile("Qualification quiz")).wait_for()
    _answer_quiz(page, right=True)
    page.wait_for_url(re.compile(r"/label/$"))
    page.locator("#stage img").wait_for()
    screenshots(page, "study-02-label")
    for n in range(QUOTA):
        page.wait_for_function("() => window.rafLabel.ready()")
        shown = page.evaluate("window.rafLabel.current()")
        page.keyboard.press("4")
        if n < QUOTA - 1:
            page.wait_for_function(f"() => window.rafLabel.current() !== {shown}")
    page.wait_for_url(re.compile(r"/study-end/done/$"))
    assert page.locator("#completion-code").text_content() == "C1234ABC"
    assert PASSES not in page.content()
    screenshots(page, "study-03-done")
    page.wait_for_url("https://app.prolific.com/submissions/complete?cc=C1234ABC", timeout=15000)
    assert prolific == ["https://app.prolific.com/submissions/complete?cc=C1234ABC"]
    context.close()
    done = StudyEnrolment.objects.get(link__participant_id=PASSES)
    assert done.status == "completed"
    assert Vote.objects.filter(annotator=done.annotator).count() == QUOTA  # the page stopped at the quota

    # 2. Another participant fails the quiz: screened out, with the screened-out code.
    context, page, prolific = _arrive(browser, live_server, study, FAILS)
    page.get_by_role("button", name=re.compile("I have read the tutorial")).click()
    _answer_quiz(page, right=False)
    page.wait_for_url(re.compile(r"/study-end/screened-out/$"))
    assert page.locator("#screened-out-code").text_content() == "SCREEN01"
    assert "C1234ABC" not in page.content()
    screenshots(page, "study-04-screened-out")
    page.wait_for_url("https://app.prolific.com/submissions/complete?cc=SCREEN01", timeout=15000)
    context.close()
    assert StudyEnrolment.objects.get(link__participant_id=FAILS).status == "screened_out"

    # 3. The admin's work log and payment CSV list both, with votes and time.
    make_user(role="admin", username="boss", password=PASSWORD)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20000)
    page.goto(live_server.url + "/login/")
    page.locator("#id_username").fill("boss")
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Studies").click()
    page.get_by_role("link", name="pilot").click()
    page.locator("#work-log").wait_for()
    screenshots(page, "study-05-work-log")
    with page.expect_download() as download:
        page.get_by_role("link", name="Work log CSV").click()
    rows = {row["participant_id"]: row for row in csv.DictReader(io.StringIO(download.value.path().read_text()))}
    assert set(rows) == {PASSES, FAILS}
    assert (rows[PASSES]["status"], rows[PASSES]["votes"], rows[PASSES]["session_id"]) == (
        "completed",
        str(QUOTA),
        SESSIONS[PASSES],
    )
    assert float(rows[PASSES]["active_seconds"]) > 0 and float(rows[PASSES]["elapsed_seconds"]) > 0
    assert rows[PASSES]["bonus"] == "0.40"
    assert (rows[FAILS]["status"], rows[FAILS]["votes"]) == ("screened_out", "0")
    with page.expect_download() as download:
        page.get_by_role("link", name="Bulk-approve CSV").click()
    assert download.value.path().read_text() == f"{PASSES}\n"
    context.close()

    # 4. The project's export: no participant id, session id or market study id anywhere in the zip.
    run = reliability_run_start(project=project, method="mv")
    run.refresh_from_db()
    assert run.succeeded, run.job.error
    out = tmp_path / "export.zip"
    dataset_export_to_path(project=project, out=out, run=run)
    secrets = [PASSES, FAILS, *SESSIONS.values(), MARKET_STUDY]
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        assert "votes.csv" in names
        for name in names:
            data = archive.read(name)
            for secret in secrets:
                assert secret not in name and secret.encode() not in data, (secret, name)
                assert secret.encode("utf-16-le") not in data, (secret, name)
    raw = out.read_bytes()  # and the archive's own bytes (names, comments, headers)
    assert not [secret for secret in secrets if secret.encode() in raw]


def test_it_lets_an_admin_create_an_mturk_study_whose_worker_submits_the_hit_and_close_it(
    live_server, browser, screenshots
):
    study_project(name="Turk project", regular=4)
    make_user(role="admin", username="boss", password=PASSWORD)
    admin = browser.new_context(viewport={"width": 1280, "height": 900})
    page = admin.new_page()
    page.set_default_timeout(20000)
    page.goto(live_server.url + "/login/")
    page.locator("#id_username").fill("boss")
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Studies").click()
    page.locator("#id_project").select_option(label="Turk project")
    page.locator("#id_name").fill("Turk pilot")
    page.locator("#id_market").select_option("mturk")
    page.locator("#id_quota").fill("2")
    page.locator("#id_completion_code").fill("TURKDONE")
    screenshots(page, "study-10-create")
    page.get_by_role("button", name="Create study").click()
    page.get_by_role("heading", name="Study: Turk pilot").wait_for()
    entry_url = page.locator("#entry-url").text_content()
    assert "?" not in entry_url  # MTurk appends its own parameters
    screenshots(page, "study-11-created")

    # The worker's MTurk page frames the entry URL (as an ExternalQuestion does), on another site.
    worker = browser.new_context(viewport={"width": 360, "height": 740})
    submitted = []
    frame_params = "assignmentId=ASG77&hitId=H1&workerId=A2WORKER&turkSubmitTo=https%3A%2F%2Fworkersandbox.mturk.com"

    def fake_submit(route):
        submitted.append(route.request.post_data)
        route.fulfill(status=200, content_type="text/html", body="<h1>HIT submitted</h1>")

    frames = {
        "/preview": entry_url + "?assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE&hitId=H1",
        "/accepted": entry_url + "?" + frame_params,
    }
    worker.route("https://workersandbox.mturk.com/**", fake_submit)
    mturk_server = _serve_worker_pages(frames)
    mturk_site = f"http://127.0.0.1:{mturk_server.server_address[1]}"
    turk = worker.new_page()
    turk.set_default_timeout(20000)
    turk.goto(mturk_site + "/preview")
    turk.frame_locator("#hit").get_by_text("Accept the HIT to start").wait_for()
    screenshots(turk, "study-12-mturk-preview")
    turk.goto(mturk_site + "/accepted")
    hit = turk.frame_locator("#hit")
    with worker.expect_page() as opened:
        hit.get_by_role("link", name="Open the task in a new tab").click()
    screenshots(turk, "study-12b-mturk-frame")
    task = opened.value
    task.set_default_timeout(20000)
    task.get_by_role("button", name=re.compile("I have read the tutorial")).click()
    _answer_quiz(task, right=True)
    task.locator("#stage img").wait_for()
    assert task.evaluate("document.documentElement.scrollWidth") <= 360
    for n in range(2):
        task.wait_for_function("() => window.rafLabel.ready()")
        shown = task.evaluate("window.rafLabel.current()")
        task.keyboard.press("1")
        if n == 0:
            task.wait_for_function(f"() => window.rafLabel.current() !== {shown}")
    task.wait_for_url(re.compile(r"/study-end/done/$"))
    code = task.locator("#completion-code").text_content()
    assert code == "TURKDONE"
    task.get_by_text("Copy this code into the box in the HIT's window").wait_for()
    screenshots(task, "study-13-mturk-done")
    hit.get_by_label("Completion code").fill(code)
    hit.get_by_role("button", name="Submit the HIT").click()
    turk.frame_locator("#hit").get_by_text("HIT submitted").wait_for()
    assert submitted == ["assignmentId=ASG77&completion_code=TURKDONE"]
    worker.close()
    mturk_server.shutdown()
    mturk_server.server_close()

    page.reload()
    assert page.locator("#work-log tbody tr").count() == 1
    assert "A2WORKER" in page.locator("#work-log").text_content()
    page.get_by_role("button", name="Close the link").click()
    page.get_by_text("no new participant can enter").wait_for()
    late = browser.new_context().new_page()
    late.goto(f"{entry_url}?assignmentId=ASG78&hitId=H1&workerId=A3LATE")
    assert "This study is closed." in late.content()
    admin.close()
