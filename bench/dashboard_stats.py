"""Time of the dashboard's page-data query on a large project.

Fills a project with ``--images`` images and ``--votes`` votes from ``--annotators`` annotators
(rows written directly, the way a long collection leaves them), then times
``dashboard_stats`` (the JSON the dashboard polls every 10 s). Use Postgres:

    DATABASE_URL=postgres://... python bench/dashboard_stats.py [--images 20000] [--votes 400000]

Last line: one JSON object with ``median_ms`` over ``--repeats`` calls.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=20000)
    parser.add_argument("--annotators", type=int, default=300)
    parser.add_argument("--votes", type=int, default=400000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    import django

    django.setup()
    import numpy as np
    from django.contrib.auth.models import User
    from django.db import connection
    from django.utils import timezone
    from tqdm import tqdm

    from annotation.models import Image, ImageStatus, Project, Vote
    from annotation.selectors.dashboard import dashboard_stats

    rng = np.random.default_rng(0)
    project = Project.objects.create(name=f"dashboard bench {time.time():.0f}", votes_wanted=10**6)
    images = Image.objects.bulk_create(
        Image(
            project=project,
            file=f"bench/{i}.jpg",
            sha256=f"{project.pk}-{i}",
            size_bytes=1,
            width=512,
            height=512,
            status=ImageStatus.READY,
            votes_wanted=10**6,
        )
        for i in range(args.images)
    )
    users = User.objects.bulk_create(User(username=f"bench-{project.pk}-{i}") for i in range(args.annotators))
    now = timezone.now()
    batch = 20000
    for start in tqdm(range(0, args.votes, batch), desc="votes", file=sys.stderr):
        n = min(batch, args.votes - start)
        pairs = set()
        rows = []
        for image_index, user_index in zip(
            rng.integers(0, args.images, n), rng.integers(0, args.annotators, n), strict=True
        ):
            key = (int(image_index), int(user_index))
            if key in pairs:
                continue
            pairs.add(key)
            rows.append(
                Vote(
                    image=images[key[0]],
                    annotator=users[key[1]],
                    label=int(rng.integers(0, 7)),
                    time_taken_ms=int(rng.integers(300, 4000)),
                )
            )
        Vote.objects.bulk_create(rows, ignore_conflicts=True)
    # Spread the votes over the last two days so the per-hour chart has work to do.
    Vote.objects.filter(image__project=project).update(created_at=now - timedelta(hours=47))
    stored = Vote.objects.filter(image__project=project).count()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE annotation_vote; ANALYZE annotation_image")
    timings = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        dashboard_stats(project=project)
        timings.append((time.perf_counter() - t0) * 1000)
    print(
        json.dumps(
            {
                "bench": "dashboard_stats",
                "database": connection.vendor,
                "images": args.images,
                "annotators": args.annotators,
                "votes": stored,
                "median_ms": round(statistics.median(timings), 1),
                "max_ms": round(max(timings), 1),
            }
        )
    )


if __name__ == "__main__":
    main()
