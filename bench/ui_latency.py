"""Key press to next face fully shown, measured in the browser on the labelling page.

Seeds a project (synthetic 800x600 JPEG photos, a qualified annotator) in a throw-away SQLite
database unless ``--database-url`` is given, serves it with ``manage.py runserver``, drives
Debian's chromium with Playwright, and measures in the page with ``performance.now()``: from
the ``keydown`` of a vote to the ``requestAnimationFrame`` after the next picture's
``img.decode()`` (the page's ``raf:shown`` event). Between votes it waits ``--think-ms`` like
a person looking at the face.

    python bench/ui_latency.py [--images 50] [--think-ms 300] [--database-url URL]

Last line: one JSON object with ``median_ms``, ``p95_ms`` (and the rest).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
BROWSER_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "raf-bench-password"

MEASURE_JS = """
() => {
  window.__rafLatency = [];
  let pressedAt = null;
  document.addEventListener("keydown", (e) => {
    if (e.key >= "1" && e.key <= "7") pressedAt = performance.now();
  }, true);
  document.getElementById("label-app").addEventListener("raf:shown", (e) => {
    if (pressedAt !== null) { window.__rafLatency.push(e.detail.at - pressedAt); pressedAt = null; }
  });
}
"""


def photo_jpeg(seed: int, width: int = 800, height: int = 600) -> bytes:
    """A photo-like JPEG (smooth gradients plus noise, so it compresses like a photo)."""
    import numpy as np
    from PIL import Image as PILImage

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack(
        [
            127 + 100 * np.sin(x / (40 + 20 * rng.random()) + c) * np.cos(y / (50 + 30 * rng.random()))
            for c in (0, 2, 4)
        ],
        axis=-1,
    )
    pixels = np.clip(base + rng.normal(0, 18, base.shape), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    PILImage.fromarray(pixels).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def seed(n_images: int) -> int:
    """Create the bench project, its images and a qualified annotator; returns the project id."""
    import hashlib

    from django.contrib.auth.models import Group, User
    from django.core.files.base import ContentFile
    from django.utils import timezone
    from tqdm import tqdm

    from annotation.models import Image, ImageStatus, Project, Qualification

    project = Project.objects.create(name=f"UI latency bench {time.time():.0f}", votes_wanted=5, gold_rate=0.0)
    for i in tqdm(range(n_images), desc="seeding images", file=sys.stderr):
        data = photo_jpeg(i)
        sha = hashlib.sha256(data).hexdigest()
        image = Image(
            project=project,
            sha256=sha,
            size_bytes=len(data),
            width=800,
            height=600,
            status=ImageStatus.READY,
            votes_wanted=project.votes_wanted,
        )
        image.file.save(f"{sha}.jpg", ContentFile(data), save=False)
        image.save()
    user, _ = User.objects.get_or_create(username="bench-annotator")
    user.set_password(PASSWORD)
    user.save()
    user.groups.add(Group.objects.get_or_create(name="annotator")[0])
    now = timezone.now()
    Qualification.objects.update_or_create(
        annotator=user, project=project, defaults={"tutorial_read_at": now, "qualified_at": now}
    )
    return project.pk


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"the server at {url} did not start")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=50, help="votes to measure (the project gets 5 more images)")
    parser.add_argument("--think-ms", type=int, default=300, help="pause between votes, like a person looking")
    parser.add_argument("--database-url", default="", help="default: a throw-away embedded Postgres")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="raf-ui-latency-"))
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(REPO))
    from config import embedded

    workdir.chmod(0o755)  # the embedded Postgres runs as its own user when we are root
    env["DATABASE_URL"] = args.database_url or embedded.database_url(workdir / "services", throwaway=True)
    env["REDIS_URL"] = env.get("REDIS_URL") or embedded.redis_url(workdir / "services", throwaway=True)
    env["MEDIA_ROOT"] = str(workdir / "media")
    env["DEBUG"] = "true"  # runserver serves the static files
    os.environ.update(
        {k: env[k] for k in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL", "MEDIA_ROOT", "DEBUG")}
    )

    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=REPO, env=env, check=True)
    import django

    django.setup()
    project_id = seed(args.images + 5)

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(base + "/login/")
        latencies = drive(base, project_id, args.images, args.think_ms)
    finally:
        server.terminate()
        server.wait(timeout=10)
        embedded.stop(workdir / "services")
        shutil.rmtree(workdir, ignore_errors=True)

    result = {
        "bench": "ui_latency",
        "votes": len(latencies),
        "median_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(percentile(latencies, 0.95), 1),
        "max_ms": round(max(latencies), 1),
        "mean_ms": round(statistics.fmean(latencies), 1),
        "think_ms": args.think_ms,
        "target_median_ms": 100,
        "server": "manage.py runserver",
        "database": "postgresql" if args.database_url else "embedded postgresql",
    }
    print(json.dumps(result))


def drive(base: str, project_id: int, n_votes: int, think_ms: int) -> list[float]:
    from playwright.sync_api import sync_playwright
    from tqdm import tqdm

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(30000)
        page.goto(base + "/login/")
        page.locator("#id_username").fill("bench-annotator")
        page.locator("#id_password").fill(PASSWORD)
        page.locator("button[type=submit]").click()
        page.wait_for_url(base + "/")
        page.goto(f"{base}/projects/{project_id}/label/")
        page.evaluate(MEASURE_JS)
        page.wait_for_function("() => window.rafLabel.ready() && window.rafLabel.ahead() >= 1")
        for n in tqdm(range(1, n_votes + 1), desc="voting", file=sys.stderr):
            # A person sees the face, looks for think_ms, presses a key.
            page.wait_for_function("() => window.rafLabel.ready()")
            page.wait_for_timeout(think_ms)
            page.keyboard.press(str(1 + n % 7))
            page.wait_for_function(f"() => window.__rafLatency.length >= {n}")
        latencies = page.evaluate("window.__rafLatency")
        page.wait_for_function("() => window.rafLabel.outbox().length === 0")
        browser.close()
    return [float(v) for v in latencies]


if __name__ == "__main__":
    main()
