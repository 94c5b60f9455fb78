"""Everyone's first hour in Debian chromium, one journey per user (issue 17).

* An annotator signs up, reads the tutorial, passes the quiz with the keys and labels 30 faces
  with the keys and 10 with the mouse, at 1280x800 and at 360 px, every choice in view each time;
  one answer is undone and given again.
* An admin creates a project, imports a zip through the page, sees the per-file report and the
  faces detected, and the dashboard counts the images.
* A researcher on the demo recomputes reliability, exports the dataset, trains the small CPU
  configuration to success, downloads the model zip and gets a prediction from the predict API.

Screenshots of every page go to ``test-artifacts/screenshots/`` (``journey-*``).
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User

from annotation.models import Face, Image, Project, TrainingRun, UndoneVote, Vote
from annotation.services.qualification import quiz_image_ids
from tests.factories import make_image, make_project, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "raf-journey-test-pass"
FACE_DATA = Path(settings.BASE_DIR) / "tests" / "data" / "face-data"

# Every labelling choice lies inside the viewport (no scrolling for any of them).
CHOICES_OUT_OF_VIEW = """() => [...document.querySelectorAll('.choice')].filter((b) => {
    const r = b.getBoundingClientRect();
    return r.top < 0 || r.left < 0 || r.bottom > innerHeight || r.right > innerWidth;
}).map((b) => b.textContent.trim())"""


def log_in(page, base: str, username: str) -> None:
    page.goto(base + "/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Projects").wait_for()


def vote(page, *, key: str | None = None, click: int | None = None) -> None:
    page.wait_for_function("() => window.rafLabel.ready()")
    assert page.evaluate(CHOICES_OUT_OF_VIEW) == []
    shown = page.evaluate("window.rafLabel.current()")
    if key is not None:
        page.keyboard.press(key)
    else:
        page.locator(f".choice[data-label='{click}']").click()
    page.wait_for_function(f"() => window.rafLabel.current() !== {shown}")


@pytest.fixture
def labelling_project():
    project = make_project(
        name="Journey faces",
        description="Faces for the annotator's journey.",
        quiz_questions=3,
        quiz_pass_mark=1.0,
        quiz_retry_delay_s=0,
        votes_wanted=2,
        gold_rate=0.0,
    )
    for label in (3, 6, 0):
        make_image(project=project, gold_label=label, width=96, height=96)
    for _ in range(45):
        make_image(project=project, width=320, height=240, face=True)
    return project


def test_an_annotator_signs_up_passes_the_quiz_and_labels_forty_faces(
    live_server, browser, labelling_project, screenshots
):
    project = labelling_project
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(20000)
    page.goto(live_server.url + "/")
    screenshots(page, "journey-annotator-01-landing")
    page.get_by_role("link", name=re.compile("Sign up")).first.click()
    page.locator("#id_username").fill("ann")
    page.locator("#id_password1").fill(PASSWORD)
    page.locator("#id_password2").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("heading", name="Projects").wait_for()
    assert "Faces for the annotator's journey." in page.content()
    screenshots(page, "journey-annotator-02-home")
    page.get_by_role("link", name=f"Read the tutorial in {project.name}").click()
    screenshots(page, "journey-annotator-03-tutorial")
    page.get_by_role("button", name=re.compile("I have read the tutorial")).click()
    page.get_by_role("heading", name=re.compile("Qualification quiz")).wait_for()
    screenshots(page, "journey-annotator-04-quiz")
    token = page.locator("input[name=token]").input_value()
    for position, image_id in enumerate(quiz_image_ids(token=token)):
        page.locator(".quiz-question.current legend", has_text=f"Face {position + 1} of").wait_for()
        assert page.locator(".quiz-question:visible").count() == 1  # one face at a time
        page.keyboard.press(str(Image.objects.get(pk=image_id).gold_label + 1))
    page.get_by_role("button", name="Submit answers").click()
    page.wait_for_url(re.compile(r"/label/$"))

    for n in range(15):
        vote(page, key=str(n % 7 + 1))
    for n in range(5):
        vote(page, click=n % 7)
    screenshots(page, "journey-annotator-05-label-1280")
    # Undo the last answer (taken back on the server once sent), then answer it again.
    page.wait_for_function("() => window.rafLabel.outbox().length === 0")
    undone_face = page.evaluate("window.rafLabel.current()")
    page.keyboard.press("u")
    page.get_by_text("Your last answer was taken back").wait_for()
    assert page.evaluate("window.rafLabel.current()") != undone_face
    vote(page, key="4")
    page.keyboard.press("0")
    page.get_by_text("Reported as no face").wait_for()

    page.set_viewport_size({"width": 360, "height": 740})
    for n in range(15):
        vote(page, key=str(n % 7 + 1))
    for n in range(5):
        vote(page, click=n % 7)
    page.wait_for_function("() => window.rafLabel.outbox().length === 0")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    screenshots(page, "journey-annotator-06-label-360")

    annotator = User.objects.get(username="ann")
    # 40 answers stand (the undone one was replaced by the answer given again) and one is on record.
    assert Vote.objects.filter(annotator=annotator, is_gold=False).count() == 40
    assert UndoneVote.objects.filter(annotator=annotator).count() == 1
    left = int(page.locator("#progress-remaining").text_content())
    expected = Image.objects.filter(project=project, is_gold=False).count() - 41  # 40 answered, 1 reported
    assert left in (expected, expected + 1)  # the report reaches the count within a few seconds
    context.close()


def test_an_admin_creates_a_project_and_imports_a_zip_through_the_page(live_server, browser, screenshots, tmp_path):
    make_user(role="admin", username="ada", password=PASSWORD)
    archive = tmp_path / "faces.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in sorted((FACE_DATA / "lisa").glob("*.jpg")) + sorted((FACE_DATA / "nonface").glob("*.jpg")):
            zipped.write(path, f"{path.parent.name}/{path.name}")
        zipped.writestr("notes.txt", "not a photo")
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(60000)
    log_in(page, live_server.url, "ada")
    page.get_by_role("link", name="New project").click()
    page.locator("#id_name").fill("Imported faces")
    page.locator("#id_description").fill("Photos an admin imported as a zip.")
    page.locator("#id_votes_wanted").fill("5")
    screenshots(page, "journey-admin-01-new-project")
    page.get_by_role("button", name="Create project").click()
    page.get_by_role("heading", name="Import images: Imported faces").wait_for()
    page.locator("#import-files").set_input_files(str(archive))
    page.get_by_role("button", name="Import").click()
    page.locator("#import-report").wait_for()
    summary = page.locator("#report-summary").text_content()
    assert summary.startswith("7 photos imported, 0 duplicates") and "1 file rejected" in summary
    assert page.locator("#report-rows tr").count() == 8
    page.get_by_text("Face detection finished").wait_for()
    screenshots(page, "journey-admin-02-import-report")
    project = Project.objects.get(name="Imported faces")
    assert Face.objects.filter(image__project=project, is_main=True).count() >= 4
    page.locator("#import-next").get_by_role("link", name="dashboard").click()
    page.get_by_role("heading", name=re.compile("Dashboard")).wait_for()
    screenshots(page, "journey-admin-03-dashboard")
    page.get_by_role("link", name="Settings", exact=True).click()
    page.locator("#id_votes_wanted").fill("8")
    page.get_by_role("button", name="Save settings").click()
    page.get_by_text("Settings saved.").wait_for()
    screenshots(page, "journey-admin-04-settings")
    project.refresh_from_db()
    assert project.votes_wanted == 8
    context.close()


def test_a_researcher_recomputes_exports_trains_and_predicts_on_the_demo(live_server, browser, screenshots):
    from annotation.services.demo import demo_load, demo_votes_simulate

    summary = demo_load()
    project = summary.project
    demo_votes_simulate(project=project)
    make_user(role="admin", username="rex", password=PASSWORD)
    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(60000)
    log_in(page, live_server.url, "rex")
    page.get_by_role("link", name=f"Runs of {project.name}").click()
    page.get_by_role("button", name="Recompute reliability").click()
    page.locator("#reliability-runs tr.current-run").wait_for(timeout=180_000)
    screenshots(page, "journey-researcher-01-runs")
    page.locator("#reliability-runs tr.current-run a").first.click()
    page.get_by_text("Estimated accuracy:").first.wait_for()
    assert "left out" in page.locator("#left-out").text_content()
    page.get_by_role("button", name="Export dataset").click()
    page.locator("#export-link").get_by_role("link").wait_for()
    screenshots(page, "journey-researcher-02-reliability-run")

    page.locator("#train-preset").select_option("small")
    assert page.locator("#train-iters").input_value() == "120"
    page.get_by_role("button", name="Start training").click()
    # Tasks run in-process in tests, so the start answers once the small training has finished.
    page.get_by_role("heading", name=re.compile(r"Training run \d+")).wait_for(timeout=600_000)
    page.locator("#training-status", has_text="succeeded").wait_for(timeout=600_000)
    screenshots(page, "journey-researcher-03-training-run")
    run = TrainingRun.objects.get(project=project)
    assert run.config["channels"] == [8, 8, 16, 16, 32, 32]
    model_zip = page.request.get(f"{live_server.url}/api/v1/training-runs/{run.pk}/model.zip")
    assert model_zip.ok and "model_card.md" in " ".join(zipfile.ZipFile(io.BytesIO(model_zip.body())).namelist())

    page.get_by_role("button", name="Set as current model").click()
    page.get_by_text("current model").first.wait_for()
    photo = (Path(settings.BASE_DIR) / "demo" / "london" / "smiling" / "001.jpg").read_bytes()
    csrf = next(c["value"] for c in context.cookies() if c["name"] == "csrftoken")
    predicted = page.request.post(
        f"{live_server.url}/api/v1/predict",
        multipart={
            "project": str(project.pk),
            "image": {"name": "face.jpg", "mimeType": "image/jpeg", "buffer": photo},
        },
        headers={"X-CSRFToken": csrf, "Referer": live_server.url + "/"},
    )
    assert predicted.ok, predicted.text()
    assert set(predicted.json()["faces"][0]["probabilities"]) == set(project.classes)
    context.close()
