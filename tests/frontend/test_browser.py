"""The annotator's journey and the admin's dashboard in a real browser (Debian chromium)."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User

from annotation.models import Vote
from annotation.services.qualification import quiz_image_ids
from tests.factories import make_image, make_project, make_qualified, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "raf-browser-test-pass"


@pytest.fixture
def project():
    project = make_project(
        name="Browser project",
        quiz_questions=2,
        quiz_pass_mark=1.0,
        quiz_retry_delay_s=0,
        votes_wanted=3,
        gold_rate=0.2,
    )
    for label in [*range(7), 3, 5, 0]:
        make_image(project=project, gold_label=label, width=96, height=96)
    for _ in range(8):
        make_image(project=project, width=320, height=240, face=True)
    return project


def _answer_quiz(page, *, right: bool) -> None:
    token = page.locator("input[name=token]").input_value()
    from annotation.models import Image

    for position, image_id in enumerate(quiz_image_ids(token=token)):
        gold = Image.objects.get(pk=image_id).gold_label
        answer = gold if right else (gold + 1) % 7
        # One face at a time: the same keys as labelling answer it and show the next.
        page.locator(".quiz-question.current legend", has_text=f"Face {position + 1} of").wait_for()
        page.keyboard.press(str(answer + 1))
    page.get_by_role("button", name="Submit answers").click()


def test_it_takes_a_new_annotator_from_sign_up_to_votes_on_the_dashboard(live_server, browser, project, screenshots):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20000)
    page.goto(live_server.url + "/signup/")
    screenshots(page, "01-signup")
    page.locator("#id_username").fill("alice")
    page.locator("#id_password1").fill(PASSWORD)
    page.locator("#id_password2").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("heading", name="Projects").wait_for()
    screenshots(page, "02-home")

    page.get_by_role("link", name="Read the tutorial in Browser project").click()
    page.get_by_role("heading", name="Tutorial: Browser project").wait_for()
    screenshots(page, "03-tutorial")
    page.get_by_role("button", name=re.compile("I have read the tutorial")).click()

    page.get_by_role("heading", name=re.compile("Qualification quiz")).wait_for()
    screenshots(page, "04-quiz")
    _answer_quiz(page, right=False)
    page.get_by_text("You answered 0 of 2").wait_for()
    screenshots(page, "05-quiz-failed")
    page.get_by_role("link", name="Try again").click()
    _answer_quiz(page, right=True)

    page.wait_for_url(re.compile(r"/label/$"))
    stage_image = page.locator("#stage img")
    stage_image.wait_for()
    screenshots(page, "06-label")
    alice = User.objects.get(username="alice")
    for n, key in enumerate("12345", start=1):
        shown = page.evaluate("window.rafLabel.current()")
        page.wait_for_function("() => window.rafLabel.ready() && window.rafLabel.ahead() >= 1")
        page.keyboard.press(key)
        page.wait_for_function(f"() => window.rafLabel.current() !== {shown}")
        page.wait_for_function(f"() => document.getElementById('progress-today').textContent === '{n}'")
    page.wait_for_function("() => window.rafLabel.outbox().length === 0")
    assert page.locator("#progress-total").text_content() == "5"
    screenshots(page, "07-label-after-five")

    votes = list(Vote.objects.filter(annotator=alice).order_by("id"))
    assert [vote.label for vote in votes] == [0, 1, 2, 3, 4]
    assert all(vote.time_taken_ms is not None and vote.time_taken_ms > 0 for vote in votes)

    page.get_by_role("button", name=re.compile("Log out")).click()
    make_user(role="admin", username="boss", password=PASSWORD)
    page.locator("#id_username").fill("boss")
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Dashboard of Browser project").click()
    row = page.locator("#annotators tbody tr", has_text="alice")
    row.wait_for()
    assert row.locator("td").nth(1).text_content() == "5"
    # The chart is drawn by the page's script after load: wait for it, then count.
    page.locator("#rate-chart svg rect").nth(23).wait_for(state="attached")
    assert page.locator("#rate-chart svg rect").count() == 24
    screenshots(page, "08-dashboard")
    page.set_viewport_size({"width": 360, "height": 740})
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    screenshots(page, "08-dashboard-360px")
    page.set_viewport_size({"width": 1280, "height": 900})
    image = votes[0].image
    page.goto(f"{live_server.url}/images/{image.pk}/")
    page.locator(".photo img").wait_for()
    screenshots(page, "09-image")
    context.close()


def test_it_labels_with_the_keyboard_alone_and_fits_a_360_px_screen(live_server, browser, project, screenshots):
    annotator = make_user(username="keyboard", password=PASSWORD)
    make_qualified(annotator=annotator, project=project)
    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    page.set_default_timeout(20000)
    page.goto(live_server.url + "/login/")
    # Keyboard only: the username field has the focus, Tab reaches the password, Enter logs in.
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'id_username'")
    page.keyboard.type("keyboard")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Projects").wait_for()
    page.goto(f"{live_server.url}/projects/{project.pk}/label/")
    page.locator("#stage img").wait_for()
    # The skip link comes first and shows when focused.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    assert page.evaluate("document.activeElement.getBoundingClientRect().left >= 0")
    page.wait_for_function("() => window.rafLabel.ready()")

    # Every control has a name, every picture a text alternative, the focus ring is visible.
    unnamed = page.evaluate(
        """() => [...document.querySelectorAll('button, a, input:not([type=hidden])')]
            .filter(el => !(el.getAttribute('aria-label') || el.labels?.length || el.textContent.trim()))
            .map(el => el.outerHTML)"""
    )
    assert unnamed == []
    assert page.evaluate("[...document.images].every(img => img.alt.trim().length > 0)")
    page.locator(".choice").first.focus()
    page.keyboard.press("Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", "")
    page.keyboard.press("Enter")  # a focused choice votes like its key
    page.wait_for_function("() => document.getElementById('progress-total').textContent === '1'")
    page.wait_for_function("() => window.rafLabel.ready()")
    page.keyboard.press("r")  # report "no face / can't see"
    page.wait_for_function("() => window.rafLabel.outbox().length === 0")
    assert Vote.objects.filter(annotator=annotator).count() == 1
    assert annotator.reports.count() == 1

    # 360 px: nothing wider than the screen, choices and face all on it.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    # Measure the face on screen once the next one is shown (the report replaces the picture).
    page.wait_for_function("() => window.rafLabel.ready()")
    width = page.evaluate("() => document.querySelector('#stage img').getBoundingClientRect().width")
    assert 0 < width <= 360
    screenshots(page, "10-label-360px")
    page.goto(f"{live_server.url}/projects/{project.pk}/tutorial/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    screenshots(page, "11-tutorial-360px")
    context.close()


def test_it_keeps_votes_through_a_network_outage_and_sends_them_later(live_server, browser, project, screenshots):
    annotator = make_user(username="offline", password=PASSWORD)
    make_qualified(annotator=annotator, project=project)
    context = browser.new_context(viewport={"width": 1024, "height": 800})
    page = context.new_page()
    page.set_default_timeout(20000)
    page.goto(live_server.url + "/login/")
    page.locator("#id_username").fill("offline")
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Projects").wait_for()
    page.goto(f"{live_server.url}/projects/{project.pk}/label/")
    page.wait_for_function("() => window.rafLabel.ready() && window.rafLabel.ahead() >= 1")

    page.route("**/vote", lambda route: route.abort("internetdisconnected"))
    page.keyboard.press("4")
    # After three failed tries (0.5 s, 1 s backoff) the annotator is told, and the vote waits.
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "not sent yet" in alert.text_content()
    stored = page.evaluate(f"JSON.parse(localStorage.getItem('raf.outbox.{project.pk}.{annotator.pk}'))")
    assert [item["body"]["label"] for item in stored] == [3]
    assert Vote.objects.filter(annotator=annotator).count() == 0
    screenshots(page, "12-label-offline")

    page.unroute("**/vote")
    page.get_by_role("button", name="Retry now").click()
    page.wait_for_function("() => window.rafLabel.outbox().length === 0")
    assert alert.is_hidden()
    assert list(Vote.objects.filter(annotator=annotator).values_list("label", flat=True)) == [3]

    # The server stores a vote but its answer is lost: the resend is recognised, not doubled.
    def lose_the_answer(route):
        route.fetch()
        route.abort("connectionreset")

    page.route("**/vote", lose_the_answer, times=1)
    page.wait_for_function("() => window.rafLabel.ready()")
    page.keyboard.press("7")
    page.wait_for_function("() => window.rafLabel.outbox().length === 0")
    assert sorted(Vote.objects.filter(annotator=annotator).values_list("label", flat=True)) == [3, 6]
    assert "not recorded" not in page.locator("#status").text_content()
    context.close()


def test_it_says_gently_when_the_project_has_no_more_faces(live_server, browser, screenshots):
    small = make_project(name="Small project", votes_wanted=1, gold_rate=0.0, quiz_questions=0)
    for _ in range(2):
        make_image(project=small, width=200, height=200)
    annotator = make_user(username="finisher", password=PASSWORD)
    make_qualified(annotator=annotator, project=small)
    context = browser.new_context(viewport={"width": 1024, "height": 800})
    page = context.new_page()
    page.set_default_timeout(20000)
    page.goto(live_server.url + "/login/")
    page.locator("#id_username").fill("finisher")
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Projects").wait_for()
    page.goto(f"{live_server.url}/projects/{small.pk}/label/")
    for key in "12":
        page.wait_for_function("() => window.rafLabel.ready()")
        page.keyboard.press(key)
    notice = page.get_by_role("heading", name="All done here, thank you!")
    notice.wait_for()
    assert page.locator(".choice").first.is_disabled()
    page.wait_for_function("() => window.rafLabel.outbox().length === 0")
    page.wait_for_function("() => document.getElementById('progress-total').textContent === '2'")
    assert Vote.objects.filter(annotator=annotator).count() == 2
    screenshots(page, "13-label-finished")
    context.close()


def test_it_sends_an_answer_given_too_fast_again_when_the_server_takes_it(live_server, browser, settings):
    settings.RAF_MIN_VOTE_MS = 1500  # longer than the page takes to show the picture
    project = make_project(name="Fast hands", quiz_questions=0, votes_wanted=2, gold_rate=0.0)
    for _ in range(4):
        make_image(project=project, width=96, height=96, face=True)
    annotator = make_user(username="fasthands", password=PASSWORD)
    make_qualified(annotator=annotator, project=project)
    page = browser.new_page()
    page.set_default_timeout(20000)
    page.goto(live_server.url + "/login/")
    page.fill("#id_username", "fasthands")
    page.fill("#id_password", PASSWORD)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Projects").wait_for()
    page.goto(f"{live_server.url}/projects/{project.pk}/label/")
    page.wait_for_function("() => window.rafLabel.ready()")
    page.keyboard.press("4")  # at once: the server answers 429 too_fast
    page.wait_for_function("() => window.rafLabel.outbox().length === 0")
    assert Vote.objects.filter(annotator=annotator).count() == 1
    assert "not recorded" not in page.locator("#status").inner_text()
    page.close()


def test_the_api_docs_load_nothing_from_another_site(live_server, browser):
    """Swagger UI and ReDoc render from this site's files alone; ReDoc's request for its logo on
    Redocly's CDN is refused by the page's Content-Security-Policy before it leaves the browser."""

    def elsewhere(url: str) -> bool:  # blob: URLs are the page's own workers
        return url.startswith(("http:", "https:")) and not url.startswith(live_server.url)

    for path, ready in (("/api/docs/", ".swagger-ui .info"), ("/api/redoc/", "h1")):
        context = browser.new_context()
        page = context.new_page()
        page.set_default_timeout(20000)
        fetched: list[str] = []
        refused: list[tuple[str, str | None]] = []
        page.on("requestfinished", lambda r, fetched=fetched: fetched.append(r.url))
        page.on("requestfailed", lambda r, refused=refused: refused.append((r.url, r.failure)))
        page.goto(live_server.url + path)
        page.locator(ready).first.wait_for()
        page.wait_for_load_state("networkidle")
        assert [url for url in fetched if elsewhere(url)] == [], path
        assert all(reason == "csp" for url, reason in refused if elsewhere(url)), refused
        context.close()
