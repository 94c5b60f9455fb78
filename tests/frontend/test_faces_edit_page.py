"""The face editor in Debian's chromium: drag a landmark, nudge it with keys, save."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from annotation.models import Face, FaceRevision
from annotation.models.face import LandmarkSource
from annotation.services.faces import face_detect_image
from tests.annotation.faces_helpers import make_photo_image, make_project, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def faces_page(browser):
    """A touch-enabled chromium context (the ``browser`` of tests/frontend/conftest.py)."""
    context = browser.new_context(viewport={"width": 1200, "height": 900}, has_touch=True)
    yield context
    context.close()


def shot(page, name: str) -> None:
    """Full-page screenshot under test-artifacts/screenshots/ (for people checking the layout)."""
    folder = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def login(context, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])


def test_it_drags_a_landmark_and_saves_it_as_manual(faces_page, live_server) -> None:
    image = make_photo_image(make_project(), "lisa/lisa2.jpg")
    assert face_detect_image(image=image) == 1
    face = image.faces.get()
    editor = make_user("annotator", trusted=True)
    login(faces_page, live_server, editor)
    page = faces_page.new_page()

    page.goto(f"{live_server.url}/faces/images/{image.pk}/")
    nose = page.locator('[data-handle="2"] circle')
    nose.wait_for()
    start = nose.bounding_box()
    assert start is not None
    # Screen pixels per image pixel (the SVG keeps the photo's aspect ratio inside its box).
    pixels_per_unit = page.evaluate("document.getElementById('stage').getScreenCTM().a")
    # Drag the nose tip 20 image pixels right with the mouse, then nudge it 1 px down by key.
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(start["x"] + start["width"] / 2 + 10 * pixels_per_unit, start["y"] + start["height"] / 2, steps=4)
    page.mouse.move(start["x"] + start["width"] / 2 + 20 * pixels_per_unit, start["y"] + start["height"] / 2, steps=4)
    page.mouse.up()
    page.keyboard.press("ArrowDown")
    # Drag the left eye 10 image pixels up with a finger (touch events become pointer events).
    eye = page.locator('[data-handle="0"] circle').bounding_box()
    assert eye is not None
    x, y = eye["x"] + eye["width"] / 2, eye["y"] + eye["height"] / 2
    touch = faces_page.new_cdp_session(page)
    touch.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    for step in range(1, 5):
        point = {"x": x, "y": y - 10 * pixels_per_unit * step / 4}
        touch.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
    touch.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    page.select_option("#attr-gender", "1")
    page.click("#save")
    page.wait_for_selector("#status:has-text('Saved')")

    face.refresh_from_db()
    assert face.landmarks_source == LandmarkSource.MANUAL
    before = FaceRevision.objects.get(face=face).before["landmarks"][2]
    assert face.landmarks[2][0] == pytest.approx(before[0] + 20, abs=1.5)
    assert face.landmarks[2][1] == pytest.approx(before[1] + 1, abs=1.0)
    eye_before = FaceRevision.objects.get(face=face).before["landmarks"][0]
    assert face.landmarks[0][1] == pytest.approx(eye_before[1] - 10, abs=1.5)
    assert face.landmarks[0][0] == pytest.approx(eye_before[0], abs=1.5)
    assert face.gender == 1 and face.updated_by == editor
    assert page.locator("#face-info").inner_text().startswith("Landmarks: manual")
    shot(page, "faces_edit")


def test_it_draws_a_face_on_an_image_without_one(faces_page, live_server) -> None:
    image = make_photo_image(make_project(), "nonface/fox-715588_640.jpg")
    login(faces_page, live_server, make_user("admin"))
    page = faces_page.new_page()
    page.goto(f"{live_server.url}/faces/")
    shot(page, "faces_queue")
    page.click(f'tr[data-image="{image.pk}"] a')
    page.wait_for_selector("#face-info:has-text('No face found')")
    page.keyboard.press("6")
    page.keyboard.press("Shift+ArrowLeft")
    page.click("#save")
    page.wait_for_selector("#status:has-text('Saved')")
    face = Face.objects.get(image=image)
    assert face.is_main and face.landmarks_source == LandmarkSource.MANUAL
    # The new face starts as a centred square of half the short side; key 6 took its corner.
    side = min(image.width, image.height) / 2
    assert face.x1 == pytest.approx((image.width - side) / 2 - 10, abs=0.02)
    image.refresh_from_db()
    assert image.status == "ready"
