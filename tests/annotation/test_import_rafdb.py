"""import_rafdb: a RAF-DB copy becomes images, faces and reference labels; bad input changes nothing."""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest
from django.core.management import CommandError, call_command

from annotation.errors import ServiceError
from annotation.models import Face, Image, Project, Vote
from annotation.services.exports import dataset_export_to_path
from annotation.services.rafdb import rafdb_import
from tests.annotation.export_factories import write_rafdb_layout
from training import rafdb_layout as layout
from training.synthetic import generate_subset

pytestmark = pytest.mark.django_db


@pytest.fixture
def copy(tmp_path) -> Path:
    return write_rafdb_layout(tmp_path / "rafdb", basic=6, compound=3)


@pytest.fixture
def project() -> Project:
    return Project.objects.create(name="RAF-DB", licence_text="Research only.")


def _snapshot(project: Project) -> tuple[int, int, list[str]]:
    return (
        Image.objects.filter(project=project).count(),
        Face.objects.count(),
        sorted(str(p) for p in Path(__import__("django.conf").conf.settings.MEDIA_ROOT).rglob("*") if p.is_file()),
    )


def test_it_imports_images_faces_and_reference_labels_not_votes(copy, project):
    summary = rafdb_import(project=project, path=copy)
    assert summary == {"images": 9, "subsets": {"basic": 6, "compound": 3}, "faces": 9, "distributions": 9}
    assert Vote.objects.count() == 0
    labels = dict(line.split() for line in (copy / "basic" / layout.LABEL_FILE).read_text().splitlines())
    image = Image.objects.get(project=project, source="basic/Image/original/train_00002.jpg")
    assert image.reference_label == int(labels["train_00002.jpg"]) - 1
    assert (image.reference_subset, image.reference_split, image.status) == ("basic", "train", "ready")
    assert len(image.reference_distribution) == 7
    face = image.faces.get(is_main=True)
    assert face.landmarks_source == "imported"
    manual = layout.parse_manual((copy / "basic" / layout.MANUAL_DIR / "train_00002_manu_attri.txt").read_text())
    assert face.landmarks == [list(p) for p in manual.landmarks]
    assert (face.gender, face.race, face.age_range) == (manual.gender, manual.race, manual.age)
    # stored re-encoded, as every import stores images (annotation/services/image_files.py)
    assert _pixels_close(
        face.aligned.read(), (copy / "basic" / layout.ALIGNED_DIR / "train_00002_aligned.jpg").read_bytes()
    )
    test_image = Image.objects.get(project=project, source="compound/Image/original/test_0001.jpg")
    assert (test_image.reference_subset, test_image.reference_split) == ("compound", "test")


def _pixels_close(a: bytes, b: bytes) -> bool:
    first, second = (cv2.imdecode(np.frombuffer(x, np.uint8), cv2.IMREAD_COLOR) for x in (a, b))
    return first.shape == second.shape and float(np.abs(first.astype(int) - second.astype(int)).mean()) < 3.0


def _normalised(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def _assert_round_trip(copy: Path, out: Path, *, moved: dict[str, str] | None = None) -> int:
    """Every file of ``copy`` is in the export ``out``: text files identical after normalising
    whitespace (label and distribution files as sets of lines), images the same pixels up to
    the JPEG re-encoding every import does. ``moved`` maps copy paths to export paths."""
    moved = moved or {}
    checked = 0
    with zipfile.ZipFile(out) as archive:
        exported = {n for n in archive.namelist() if n.startswith(("basic/", "compound/"))}
        expected = set()
        for path in sorted(p for p in copy.rglob("*") if p.is_file()):
            original_name = path.relative_to(copy).as_posix()
            name = moved.get(original_name, original_name)
            expected.add(name)
            assert name in exported, name
            data = archive.read(name)
            if name.endswith(".txt"):
                original, again = _normalised(path.read_text()), _normalised(data.decode())
                if name.endswith(("list_patition_label.txt", f"distribution_{name.split('/')[0]}.txt")):
                    original, again = sorted(original), sorted(again)
                assert again == original, name
            else:
                assert _pixels_close(data, path.read_bytes()), name
            checked += 1
        assert exported == expected
    return checked


def test_it_round_trips_a_rafdb_copy_through_import_and_export(copy, project, tmp_path):
    rafdb_import(project=project, path=copy)
    out = tmp_path / "export.zip"
    dataset_export_to_path(project=project, out=out, reference=True)
    moved = {f"{s}/distribution_{s}.txt": f"{s}/{layout.distribution_file(s)}" for s in layout.SUBSETS}
    # 4 files per image, the label and distribution files per subset
    assert _assert_round_trip(copy, out, moved=moved) == 9 * 4 + 2 * 2


def test_it_round_trips_the_synthetic_rafdb_set(project, tmp_path):
    copy = tmp_path / "synthetic"
    generate_subset(copy, subset="basic", n_images=14, seed=3, progress=False)
    generate_subset(copy, subset="compound", n_images=22, seed=3, progress=False)
    summary = rafdb_import(project=project, path=copy)
    assert summary["images"] == 36 and summary["faces"] == 36
    out = tmp_path / "export.zip"
    dataset_export_to_path(project=project, out=out, reference=True)
    # 5 files per image (with the 37 automatic landmarks), 2 label files, 1 distribution file
    assert _assert_round_trip(copy, out) == 36 * 5 + 3


@pytest.mark.parametrize(
    "breakage, message",
    [
        (lambda root: (root / "basic" / layout.ORIGINAL_DIR / "train_00002.jpg").unlink(), "train_00002.jpg: missing"),
        (
            lambda root: (root / "basic" / layout.ORIGINAL_DIR / "train_00002.jpg").write_bytes(b"\xff\xd8\xffjunk"),
            "train_00002.jpg: not an image",
        ),
        (lambda root: (root / "basic" / layout.LABEL_FILE).write_text("train_00001.jpg 9\n"), "outside 1..7"),
        (lambda root: (root / "basic" / layout.LABEL_FILE).write_text("photo.jpg 1\n"), "not a RAF-DB image name"),
        (
            lambda root: (root / "compound" / layout.MANUAL_DIR / "test_0001_manu_attri.txt").write_text("1 2\n"),
            "expected 5 landmark lines",
        ),
        (
            lambda root: (root / "basic" / layout.BOX_DIR / "train_00001_boundingbox.txt").write_text("5 5 1 1"),
            "empty bounding box",
        ),
        (lambda root: (root / "basic" / layout.BOX_DIR / "train_00001_boundingbox.txt").unlink(), "missing"),
        (
            lambda root: shutil.copy(
                root / "basic" / layout.ORIGINAL_DIR / "train_00001.jpg",
                root / "basic" / layout.ORIGINAL_DIR / "train_00002.jpg",
            ),
            "the same image as",
        ),
        (lambda root: shutil.rmtree(root / "basic") or shutil.rmtree(root / "compound"), "holds no RAF-DB layout"),
        # The layout's one rule (training.rafdb_layout): the distribution file lists exactly the
        # label file's images, and the label file no name twice.
        (lambda root: _drop_last_line(root / "basic" / "distribution_basic.txt"), "without a distribution"),
        (lambda root: _repeat_first_line(root / "basic" / layout.LABEL_FILE), "is listed twice"),
    ],
)
def test_it_changes_nothing_when_any_part_of_the_copy_is_bad(copy, project, breakage, message):
    before = _snapshot(project)
    breakage(copy)
    with pytest.raises(ServiceError, match=re.escape(message)) as caught:
        rafdb_import(project=project, path=copy)
    assert caught.value.code == "invalid_layout"
    assert _snapshot(project) == before


def test_it_refuses_to_import_the_same_copy_twice(copy, project):
    rafdb_import(project=project, path=copy)
    before = _snapshot(project)
    with pytest.raises(ServiceError, match="already in the project"):
        rafdb_import(project=project, path=copy)
    assert _snapshot(project) == before


def test_it_imports_from_the_command_line_and_reports_problems(copy, project, tmp_path):
    call_command("import_rafdb", str(copy), "--project", project.name, verbosity=0)
    assert Image.objects.filter(project=project).count() == 9
    other = Project.objects.create(name="other")
    (copy / "basic" / layout.LABEL_FILE).write_text("train_00001.jpg x\n")
    with pytest.raises(CommandError, match="not an integer"):
        call_command("import_rafdb", str(copy), "--project", str(other.pk), verbosity=0)
    assert not Image.objects.filter(project=other).exists()


def _drop_last_line(path: Path) -> None:
    path.write_text("\n".join(path.read_text().splitlines()[:-1]) + "\n")


def _repeat_first_line(path: Path) -> None:
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines, lines[0]]) + "\n")
