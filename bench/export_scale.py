"""Export time and peak memory for a RAF-DB-sized project (issue 8's closing figure).

Seeds a project of ``--images`` images (default 30,000) with ``--votes-per-image`` counted
votes each (default 40: 1.2 M votes) from ``--annotators`` annotators (default 315), a main
face per image and a succeeded reliability run putting about half the images in the basic
subset and an eighth in the compound one, as in the paper. Rows go in with Postgres ``COPY``
(bulk inserts on SQLite); every image row shares one tiny JPEG and every face one aligned
JPEG, so the disk stays small while the export still reads and writes one file per image.

Then it runs ``manage.py export_dataset --run ID --format FORMAT --out X.zip`` in a child process and reports
its wall time and peak resident memory (``ru_maxrss`` of the child alone, so the seeding does
not count). The seeded rows are deleted afterwards unless ``--keep``.

    DATABASE_URL=postgres://... nice -n 10 .venv/bin/python bench/export_scale.py [--format rafdb|hf]

The last line printed is JSON: ``seconds``, ``peak_rss_mb``, ``images``, ``votes``, and more.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=30_000)
    parser.add_argument("--votes-per-image", type=int, default=40)
    parser.add_argument("--annotators", type=int, default=315)
    parser.add_argument("--format", choices=("rafdb", "hf"), default="rafdb", help="Export layout (default rafdb).")
    parser.add_argument("--keep", action="store_true", help="Keep the seeded project.")
    args = parser.parse_args()
    if args.votes_per_image > args.annotators:
        parser.error("--votes-per-image must not exceed --annotators (one vote per annotator and image)")

    work = Path(tempfile.mkdtemp(prefix="raf-export-bench-"))
    os.environ["MEDIA_ROOT"] = str(work / "media")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    started = time.perf_counter()
    project_id, run_id = seed(args)
    seed_s = time.perf_counter() - started
    print(f"seeded {args.images} images, {args.images * args.votes_per_image} votes in {seed_s:.1f} s", flush=True)

    out = work / "export.zip"
    command = [
        sys.executable,
        str(REPO_ROOT / "manage.py"),
        "export_dataset",
        "--run",
        str(run_id),
        "--format",
        args.format,
        "--out",
        str(out),
        "--verbosity",
        "0",
    ]
    started = time.perf_counter()
    child = subprocess.run(command, cwd=REPO_ROOT, env=os.environ.copy(), capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if child.returncode != 0:
        sys.exit(f"export failed:\n{child.stderr}")
    # ru_maxrss is in KiB on Linux; RUSAGE_CHILDREN holds the largest child (the export).
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_rss_mb = usage.ru_maxrss / 1024
    # On a shared machine wall time depends on the load; the child's CPU time does not.
    cpu_seconds = usage.ru_utime + usage.ru_stime
    summary = json.loads(child.stdout.strip().splitlines()[-1])
    size_mb = out.stat().st_size / 2**20
    if args.keep:
        print(f"kept project {project_id}, run {run_id}, MEDIA_ROOT={work / 'media'}", flush=True)
    else:
        cleanup(project_id)
        for path in sorted(work.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        work.rmdir()
    from django.db import connection

    print(
        json.dumps(
            {
                "format": args.format,
                "seconds": round(seconds, 2),
                "cpu_seconds": round(cpu_seconds, 2),
                "peak_rss_mb": round(peak_rss_mb, 1),
                "images": summary["images"],
                "votes": summary["votes"],
                "layout_images": summary["layout_images"],
                "content_hash": summary["content_hash"],
                "annotators": summary["annotators"],
                "zip_mb": round(size_mb, 1),
                "seed_seconds": round(seed_s, 1),
                "database": connection.vendor,
                "load_average_1m": round(os.getloadavg()[0], 1),
            }
        )
    )


def seed(args: argparse.Namespace) -> tuple[int, int]:
    import cv2
    import numpy as np
    from django.contrib.auth import get_user_model
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from django.db import connection, transaction

    from annotation.models import AnnotatorReliability, Face, Image, ImageReliability, Project, ReliabilityRun, Vote
    from reliability.classes import BASIC_EMOTIONS, COMPOUND_BENCHMARK

    rng = np.random.default_rng(0)
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    project = Project.objects.create(name=f"bench-export-{stamp}", licence_text="Benchmark data.")
    users = get_user_model()
    names = [f"bench_export_{i:03d}" for i in range(args.annotators)]
    existing = set(users.objects.filter(username__in=names).values_list("username", flat=True))
    users.objects.bulk_create([users(username=n, email=f"{n}@example.org") for n in names if n not in existing])
    annotator_ids = list(users.objects.filter(username__in=names).order_by("username").values_list("id", flat=True))

    def encode(size: int, seed: int) -> bytes:
        pixels = np.random.default_rng(seed).integers(0, 255, (size, size, 3), dtype=np.uint8)
        return cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, 80])[1].tobytes()

    original = default_storage.save(f"bench/{project.pk}/original.jpg", ContentFile(encode(128, 1)))
    aligned = default_storage.save(f"bench/{project.pk}/aligned.jpg", ContentFile(encode(100, 2)))
    run = ReliabilityRun.objects.create(
        project=project, method="glad", params={"bench": True}, metrics={"cronbach_alpha": 0.966}, succeeded=True
    )
    n, k = args.images, len(BASIC_EMOTIONS)
    now = datetime.now(UTC)
    landmarks = json.dumps([[40.0, 50.0], [88.0, 50.0], [64.0, 72.0], [46.0, 96.0], [82.0, 96.0]])

    image_table, face_table = Image._meta.db_table, Face._meta.db_table
    vote_table, result_table = Vote._meta.db_table, ImageReliability._meta.db_table
    image_columns = (
        "project_id",
        "file",
        "sha256",
        "size_bytes",
        "width",
        "height",
        "source",
        "keyword",
        "status",
        "reject_reason",
        "votes_wanted",
        "counted_votes",
        "reserved",
        "random_key",
        "is_gold",
        "created_at",
        "reference_subset",
        "reference_split",
    )
    with transaction.atomic():
        _insert(
            connection,
            image_table,
            image_columns,
            (
                (
                    project.pk,
                    original,
                    hashlib.sha256(str(i).encode()).hexdigest(),
                    1000,
                    128,
                    128,
                    f"bench/{i}",
                    "",
                    "ready",
                    "",
                    args.votes_per_image,
                    args.votes_per_image,
                    0,
                    float(rng.random()),
                    False,
                    now,
                    "",
                    "",
                )
                for i in range(n)
            ),
        )
        image_ids = list(Image.objects.filter(project=project).order_by("id").values_list("id", flat=True))
        face_columns = (
            "image_id",
            "is_main",
            "x1",
            "y1",
            "x2",
            "y2",
            "landmarks",
            "landmarks_source",
            "gender",
            "race",
            "age_range",
            "aligned",
            "aligned_grey",
            "updated_at",
        )
        _insert(
            connection,
            face_table,
            face_columns,
            (
                (image_id, True, 10.0, 10.0, 118.0, 118.0, landmarks, "manual", 1, 0, 2, aligned, "", now)
                for image_id in image_ids
            ),
        )
        labels = rng.integers(0, k, size=(n, args.votes_per_image))  # (N, V)
        _insert(
            connection,
            vote_table,
            ("image_id", "annotator_id", "label", "time_taken_ms", "counted", "late", "is_gold", "created_at"),
            (
                (
                    image_id,
                    annotator_ids[(j + 7 * v) % len(annotator_ids)],
                    int(labels[j, v]),
                    int(1500 + labels[j, v] * 100),
                    True,
                    False,
                    False,
                    now,
                )
                for j, image_id in enumerate(image_ids)
                for v in range(args.votes_per_image)
            ),
        )

        # The run's snapshot, as reliability_run_execute records it: exports filter votes by it.
        from django.db.models import Max

        ReliabilityRun.objects.filter(pk=run.pk).update(
            votes_snapshot_at=datetime.now(UTC),
            votes_snapshot_last_id=Vote.objects.aggregate(last=Max("id"))["last"],
        )

        def result(j: int, image_id: int) -> tuple[object, ...]:
            counts = np.bincount(labels[j], minlength=k)
            distribution = counts / counts.sum()
            roll = j % 8
            subset = "basic" if roll < 4 else "compound" if roll == 4 else ""
            subset_label = (
                BASIC_EMOTIONS[int(counts.argmax())]
                if subset == "basic"
                else COMPOUND_BENCHMARK[j % 11]
                if subset == "compound"
                else ""
            )
            split = "test" if j % 6 == 5 else "train"
            return (
                run.pk,
                image_id,
                int(counts.argmax()),
                json.dumps(distribution.round(6).tolist()),
                json.dumps(counts.tolist()),
                1.0,
                subset,
                subset_label,
                split,
            )

        _insert(
            connection,
            result_table,
            ("run_id", "image_id", "label", "distribution", "counts", "difficulty", "subset", "subset_label", "split"),
            (result(j, image_id) for j, image_id in enumerate(image_ids)),
        )
        AnnotatorReliability.objects.bulk_create(
            [
                AnnotatorReliability(
                    run=run,
                    annotator_id=a,
                    reliability=float(rng.normal(1.5, 0.5)),
                    kept=True,
                    votes=n * args.votes_per_image // len(annotator_ids),
                )
                for a in annotator_ids
            ]
        )
    # As autovacuum would soon after a load this size; plans on empty statistics mislead.
    with connection.cursor() as cursor:
        for table in (image_table, face_table, vote_table, result_table):
            cursor.execute(f"ANALYZE {table}")
    return project.pk, run.pk


def _insert(connection, table: str, columns: tuple[str, ...], rows) -> None:  # type: ignore[no-untyped-def]
    """COPY, streamed row by row."""
    column_sql = ", ".join(columns)
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({column_sql}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def cleanup(project_id: int) -> None:
    """Raw deletes: Django's cascade would load 1.2 M vote rows to delete them."""
    from django.db import connection, transaction

    from annotation.models import (
        AnnotatorReliability,
        DatasetExport,
        Face,
        Image,
        ImageReliability,
        Job,
        Project,
        ReliabilityRun,
        Vote,
    )

    images = f"SELECT id FROM {Image._meta.db_table} WHERE project_id = %s"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {AnnotatorReliability._meta.db_table} WHERE run_id IN "
            f"(SELECT id FROM {ReliabilityRun._meta.db_table} WHERE project_id = %s)",
            [project_id],
        )
        for model in (Vote, Face, ImageReliability):
            cursor.execute(f"DELETE FROM {model._meta.db_table} WHERE image_id IN ({images})", [project_id])
        cursor.execute(f"DELETE FROM {DatasetExport._meta.db_table} WHERE project_id = %s", [project_id])
        for model in (Image, ReliabilityRun, Job):
            cursor.execute(f"DELETE FROM {model._meta.db_table} WHERE project_id = %s", [project_id])
        cursor.execute(f"DELETE FROM {Project._meta.db_table} WHERE id = %s", [project_id])


if __name__ == "__main__":
    main()
