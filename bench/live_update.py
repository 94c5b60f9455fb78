"""CPU cost of one live reliability update at RAF scale, end to end on Postgres.

Seeds a project (``adaptive``, 40 votes wanted) with a RAF-shaped simulated crowd: 33,000 images
x 40 votes from 315 annotators (10% spammers), written with ``COPY``, then ``ANALYZE``. A cold
update (no stored state: GLAD from the start, the stopping rule on every image, the spammer
tests on everyone) runs on the first 90% of the votes (1.19 M). Then, ``--repeats`` times,
``--new-votes`` more votes arrive on the images still collecting (12,600 by default: 30 s of
the vote path's 420 votes/s, the beat's check interval; the beat's own threshold is 2,000),
from ``--active`` annotators at work in that window (64 by default, as in
``bench/annotate_load.py``; ``--active 315``: everyone answers in every window, the worst case
for the spammer tests), and a warm update runs as the beat task does it
(``annotation.services.live_reliability.live_reliability_update``): read every answer of the
project out of Postgres, continue GLAD over all counted votes, refit the vote prior, run the
spammer tests on the annotators who answered since the last update, the stopping rule on the
images whose votes changed, retire the settled ones, store the serving priorities and the
warm-start state.

Figures per update, CPU seconds:

* ``process_cpu_s``: ``time.process_time`` of this (the worker's) process, the whole update,
  and its phases (``read_cpu_s``, ``em_cpu_s``, ``spammer_cpu_s`` with the prior refit,
  ``stopping_cpu_s`` with the serving priorities, ``write_cpu_s``);
* ``postgres_cpu_s``: the Postgres backend serving the update (user + system time of its
  process, read from ``/proc``; ``null`` when Postgres runs on another machine);
* ``wall_s``.

    DATABASE_URL=postgres://... python bench/live_update.py [--new-votes 12600] [--active 64] [--repeats 3]

The seeded rows are deleted afterwards unless ``--keep``. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=33_000)
    parser.add_argument("--annotators", type=int, default=315)
    parser.add_argument("--votes-per-image", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--new-votes", type=int, default=12_600, help="Votes arriving before each warm update.")
    parser.add_argument("--active", type=int, default=64, help="Annotators at work while they arrive.")
    parser.add_argument("--keep", action="store_true", help="Keep the seeded project.")
    args = parser.parse_args()

    import django

    django.setup()
    import numpy as np
    from django.core.management import call_command
    from django.db import connection

    from annotation.models import Project
    from annotation.services.live_reliability import live_reliability_update

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    project, crowd, order, cut = seed(args)
    print(f"seeded {order.shape[0]} votes in {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    runs: list[dict] = []
    pending = order[cut:]  # votes not given yet, in the crowd's order
    rng = np.random.default_rng(2)
    try:
        for repeat in range(args.repeats + 1):
            if repeat:  # the next votes arrive, from the annotators at work in this window
                at_work = rng.choice(args.annotators, size=min(args.active, args.annotators), replace=False)
                rows = still_wanted(project, crowd, pending[np.isin(crowd.annotator[pending], at_work)])
                given = rows[: args.new_votes]
                insert_votes(project, crowd, given)
                pending = pending[~np.isin(pending, given)]
            else:
                given = order[:cut]
            fresh = Project.objects.get(pk=project.pk)
            fresh.image_ids, fresh.user_ids = project.image_ids, project.user_ids
            project = fresh
            backend = backend_cpu()
            timings: dict[str, float] = {}
            cpu, wall = time.process_time(), time.perf_counter()
            row = live_reliability_update(project=project, timings=timings)
            process_cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            after = backend_cpu()
            answers = answer_count(project.pk)
            runs.append(
                {
                    "update": "warm" if repeat else "cold",
                    "new_votes": int(given.shape[0]),
                    "process_cpu_s": round(process_cpu, 3),
                    **{k: round(v, 3) for k, v in timings.items()},
                    "postgres_cpu_s": None if backend is None or after is None else round(after - backend, 3),
                    "wall_s": round(wall, 3),
                    "counted_votes": row.votes if row is not None else 0,
                    "retired": row.images_retired if row is not None else 0,
                }
            )
            print(json.dumps(runs[-1]), file=sys.stderr, flush=True)
    finally:
        if not args.keep:
            cleanup(project.pk)
    warm = runs[1:]
    print(
        json.dumps(
            {
                "answers": answers,
                "new_votes": args.new_votes,
                "active_annotators": args.active,
                "warm_process_cpu_s": [r["process_cpu_s"] for r in warm],
                "warm_postgres_cpu_s": [r["postgres_cpu_s"] for r in warm],
                "warm_median": sorted(warm, key=lambda r: r["process_cpu_s"])[len(warm) // 2] if warm else None,
                "cold": runs[0],
                "database": connection.vendor,
                "load_average_1m": round(os.getloadavg()[0], 1),
            }
        )
    )


def answer_count(project_id: int) -> int:
    from annotation.models import Vote

    return Vote.objects.filter(image__project_id=project_id).count()


def backend_cpu() -> float | None:
    """CPU seconds used so far by the Postgres backend of Django's connection (same machine only)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def seed(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    import numpy as np
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from annotation.models import Image, ImageStatus, Project, Qualification
    from reliability.simulation import simulate_crowd

    crowd = simulate_crowd(
        n_images=args.images,
        n_annotators=args.annotators,
        votes_per_image=args.votes_per_image,
        spammer_fraction=0.1,
        seed=0,
    )
    stamp = f"{time.time():.0f}"
    project = Project.objects.create(
        name=f"bench-live-{stamp}", votes_wanted=args.votes_per_image, allocation="adaptive", min_votes=10
    )
    users = get_user_model()
    created = users.objects.bulk_create(users(username=f"bench_live_{stamp}_{i}") for i in range(args.annotators))
    now = timezone.now()
    Qualification.objects.bulk_create(
        Qualification(annotator=u, project=project, tutorial_read_at=now, qualified_at=now) for u in created
    )
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(
            "COPY annotation_image (project_id, file, sha256, size_bytes, width, height, source, keyword, status, "
            "reject_reason, votes_wanted, counted_votes, reserved, random_key, is_gold, reference_subset, "
            "reference_split, created_at) FROM STDIN"
        ) as copy,
    ):
        copy.write(
            "".join(
                f"{project.pk}\tbench/{j}.jpg\t{project.pk}-{j}\t1\t100\t100\t\t\t{ImageStatus.READY}\t\t"
                f"{args.votes_per_image}\t0\t0\t{np.random.random()}\tf\t\t\t{now.isoformat()}\n"
                for j in range(args.images)
            )
        )
    project.image_ids = np.array(Image.objects.filter(project=project).order_by("id").values_list("id", flat=True))
    project.user_ids = np.array([u.pk for u in created])
    order = np.random.default_rng(0).permutation(crowd.label.shape[0])
    cut = int(0.9 * order.shape[0])
    insert_votes(project, crowd, order[:cut])
    with connection.cursor() as cursor:  # as autovacuum would after such a load
        cursor.execute("ANALYZE annotation_image")
        cursor.execute("ANALYZE annotation_vote")
    return project, crowd, order, cut


def still_wanted(project, crowd, rows):  # type: ignore[no-untyped-def]
    """The votes of ``rows`` that images still take (adaptive retirement lowered some
    images' wanted count), in order."""
    import numpy as np

    from annotation.models import Image

    free = dict(Image.objects.filter(project=project).values_list("id", "votes_wanted"))
    counted = dict(Image.objects.filter(project=project).values_list("id", "counted_votes"))
    room = np.array([free[i] - counted[i] for i in project.image_ids.tolist()])
    keep = []
    for n, j in enumerate(crowd.image[rows].tolist()):
        if room[j] > 0:
            room[j] -= 1
            keep.append(n)
    return rows[np.array(keep, dtype=np.int64)]


def insert_votes(project, crowd, rows) -> None:  # type: ignore[no-untyped-def]
    import numpy as np
    from django.db import connection
    from django.utils import timezone

    now = timezone.now().isoformat()
    user = project.user_ids[crowd.annotator[rows]]
    image = project.image_ids[crowd.image[rows]]
    label = crowd.label[rows]
    time_ms = np.random.default_rng(1).integers(800, 4000, rows.shape[0])
    with connection.cursor() as cursor:
        with cursor.cursor.copy(
            "COPY annotation_vote (annotator_id, image_id, label, time_taken_ms, counted, late, is_gold, created_at) "
            "FROM STDIN"
        ) as copy:
            for start in range(0, rows.shape[0], 100_000):
                part = slice(start, start + 100_000)
                copy.write(
                    "".join(
                        f"{u}\t{i}\t{lab}\t{t}\tt\tf\tf\t{now}\n"
                        for u, i, lab, t in zip(
                            user[part].tolist(), image[part].tolist(), label[part].tolist(), time_ms[part].tolist(),
                            strict=True,
                        )
                    )
                )  # fmt: skip
        cursor.execute(
            "UPDATE annotation_image i SET counted_votes = i.counted_votes + n.n FROM "
            "(SELECT unnest(%s::bigint[]) AS id, unnest(%s::integer[]) AS n) n WHERE i.id = n.id",
            [np.unique(image).tolist(), np.unique(image, return_counts=True)[1].tolist()],
        )


def cleanup(project_id: int) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection

    from annotation.models import Project

    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM annotation_vote WHERE image_id IN (SELECT id FROM annotation_image WHERE project_id = %s)",
            [project_id],
        )
    Project.objects.filter(pk=project_id).delete()
    get_user_model().objects.filter(username__startswith="bench_live_").delete()


if __name__ == "__main__":
    main()
