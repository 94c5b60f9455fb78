"""Import of a RAF-DB copy (release layout, PAPER.md 7) into a project.

Images, manual landmarks and attributes, boxes and aligned faces become Image and Face rows;
labels become *reference labels* (``Image.reference_label/subset/split/distribution``), never
votes. All-or-nothing: the whole copy is validated first, and a broken layout or a bad file
raises :class:`ServiceError` with every problem found, before anything is written.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from PIL import Image as PILImage

from annotation.errors import ServiceError
from annotation.models import Face, Image, ImageStatus, Project
from annotation.models.face import LandmarkSource
from annotation.services.image_files import ImageRejected, image_normalize
from annotation.services.imports import image_import_file
from annotation.signals import images_imported
from reliability.classes import BASIC_EMOTIONS
from training import rafdb_layout as layout

Progress = Callable[[float, str], None]
T = TypeVar("T")
MAX_REPORTED_ERRORS = 50
_EXIF_ORIENTATION = 0x0112


@dataclass
class _Planned:
    """One validated image, ready to write (its bytes are read again then, not kept)."""

    subset: str
    name: str
    label: int  # RAF-DB 1-based
    path: Path
    sha256: str
    size: int
    width: int
    height: int
    manual: layout.ManualAnnotation | None = None
    auto: list[list[float]] | None = None
    box: tuple[float, float, float, float] | None = None
    aligned: Path | None = None
    distribution: list[float] | None = None


@dataclass
class _Plan:
    images: list[_Planned] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def error(self, message: str) -> None:
        self.errors.append(message)


def rafdb_subset_roots(path: Path) -> dict[str, Path]:
    """``{subset: folder}`` of a RAF-DB copy: a folder holding ``basic/`` and/or ``compound/``,
    or one subset folder itself."""
    roots = {s: path / s for s in layout.SUBSETS if (path / s / layout.LABEL_FILE).is_file()}
    if not roots and (path / layout.LABEL_FILE).is_file():
        roots = {path.name if path.name in layout.SUBSETS else "basic": path}
    return roots


def rafdb_validate(*, project: Project, path: Path, progress: Progress | None = None) -> _Plan:
    """Check a whole RAF-DB copy without writing anything; the plan lists every problem."""
    plan = _Plan()
    if not path.is_dir():
        plan.error(f"{path} is not a folder")
        return plan
    roots = rafdb_subset_roots(path)
    if not roots:
        plan.error(
            f"{path} holds no RAF-DB layout (expected basic/{layout.LABEL_FILE} or compound/{layout.LABEL_FILE})"
        )
        return plan
    if "basic" in roots and list(project.classes) != list(BASIC_EMOTIONS):
        plan.error(f"project {project.name!r} does not use the 7 basic classes in RAF-DB order")
    seen_sha: dict[str, str] = {}
    existing = set(Image.objects.filter(project=project).values_list("sha256", flat=True))
    for subset, root in roots.items():
        try:
            rows = layout.parse_label_file((root / layout.LABEL_FILE).read_text(encoding="utf-8"), subset=subset)
        except (layout.LayoutError, UnicodeDecodeError) as exc:
            plan.error(f"{subset}/{layout.LABEL_FILE}: {exc}")
            continue
        names = [name for name, _ in rows]
        distributions = _distributions(root, path, subset, names, plan)
        for i, (name, label) in enumerate(sorted(rows, key=lambda r: layout.name_sort_key(r[0]))):
            planned = _check_image(subset, root, name, label, plan)
            if planned is None:
                continue
            where = f"{subset}/{layout.ORIGINAL_DIR}/{name}"
            if planned.sha256 in existing:
                plan.error(f"{where}: this image is already in the project")
            elif planned.sha256 in seen_sha:
                plan.error(f"{where}: the same image as {seen_sha[planned.sha256]}")
            seen_sha[planned.sha256] = where
            planned.distribution = distributions.get(name)
            plan.images.append(planned)
            if progress and i % 100 == 0:
                progress(0.5 * i / max(len(rows), 1), f"Checking {subset} {i}/{len(rows)}")
    return plan


def _distributions(root: Path, top: Path, subset: str, names: list[str], plan: _Plan) -> dict[str, list[float]]:
    # Copies differ: EmoLabel/ (as the export writes it), the subset folder, or beside it.
    candidates = [
        root / layout.distribution_file(subset),
        root / f"distribution_{subset}.txt",
        top / f"distribution_{subset}.txt",
    ]
    found = next((p for p in candidates if p.is_file()), None)
    if found is None:
        return {}
    try:
        rows = layout.parse_distribution_file(found.read_text(encoding="utf-8"), n_classes=len(BASIC_EMOTIONS))
        # The file lists exactly the label file's images (the layout's one rule).
        return dict(zip(names, layout.match_distributions(rows, names), strict=True))
    except (layout.LayoutError, UnicodeDecodeError) as exc:
        plan.error(f"{found.name}: {exc}")
        return {}


def _read_annotation(
    plan: _Plan, root: Path, subset: str, folder: str, filename: str, parse: Callable[[str], T]
) -> T | None:
    """Parse one optional annotation file of an image; a broken file is a plan error, a missing one None."""
    path = root / folder / filename
    if not path.is_file():
        return None
    try:
        return parse(path.read_text(encoding="utf-8"))
    except (layout.LayoutError, UnicodeDecodeError) as exc:
        plan.error(f"{subset}/{folder}/{filename}: {exc}")
        return None


def _check_image(subset: str, root: Path, name: str, label: int, plan: _Plan) -> _Planned | None:
    where = f"{subset}/{layout.ORIGINAL_DIR}/{name}"
    original = root / layout.ORIGINAL_DIR / name
    if not original.is_file():
        plan.error(f"{where}: missing")
        return None
    data = original.read_bytes()
    try:
        # The rules of every other import (annotation/services/image_files.py).
        normalized = image_normalize(
            data, max_bytes=settings.RAF_MAX_IMAGE_BYTES, max_pixels=settings.RAF_MAX_IMAGE_PIXELS
        )
    except ImageRejected as exc:
        plan.error(f"{where}: {exc}")
        return None
    planned = _Planned(subset, name, label, original, normalized.sha256, len(data), normalized.width, normalized.height)
    planned.manual = _read_annotation(
        plan, root, subset, layout.MANUAL_DIR, layout.manual_name(name), layout.parse_manual
    )
    planned.auto = _read_annotation(plan, root, subset, layout.AUTO_DIR, layout.auto_name(name), layout.parse_auto)
    box = root / layout.BOX_DIR / layout.box_name(name)
    planned.box = _read_annotation(plan, root, subset, layout.BOX_DIR, box.name, layout.parse_box)
    if not box.is_file() and (planned.manual is not None or planned.auto is not None):
        plan.error(f"{subset}/{layout.BOX_DIR}/{box.name}: missing (the image has landmarks)")
    if (planned.manual or planned.box) and _exif_rotated(data):
        # Stored images are EXIF-oriented; RAF-DB's coordinates are in the raw pixel grid.
        plan.error(f"{where}: has an EXIF rotation, so its landmarks and box would not match the stored image")
    aligned = root / layout.ALIGNED_DIR / layout.aligned_name(name)
    if aligned.is_file():
        try:
            image_normalize(
                aligned.read_bytes(), max_bytes=settings.RAF_MAX_IMAGE_BYTES, max_pixels=settings.RAF_MAX_IMAGE_PIXELS
            )
        except ImageRejected as exc:
            plan.error(f"{subset}/{layout.ALIGNED_DIR}/{aligned.name}: {exc}")
        planned.aligned = aligned
    return planned


def _exif_rotated(data: bytes) -> bool:
    try:
        with PILImage.open(io.BytesIO(data)) as picture:
            return picture.getexif().get(_EXIF_ORIENTATION, 1) not in (1, None)
    except (OSError, ValueError, SyntaxError):
        return False


def rafdb_import(
    *,
    project: Project,
    path: Path,
    created_by: AbstractBaseUser | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Validate the whole copy, then write it in one transaction; returns counts."""
    report = progress or (lambda fraction, message="": None)
    plan = rafdb_validate(project=project, path=path, progress=report)
    if plan.errors:
        raise ServiceError(
            f"The RAF-DB copy at {path} has {len(plan.errors)} problem(s); nothing was imported. "
            f"First: {plan.errors[0]}",
            code="invalid_layout",
            details=plan.errors[:MAX_REPORTED_ERRORS],
        )
    stored: list[str] = []
    without_face: list[int] = []
    try:
        with transaction.atomic():
            for i, planned in enumerate(plan.images):
                image_id, has_face = _write(project, planned, created_by, stored)
                if not has_face:
                    without_face.append(image_id)
                if i % 100 == 0:
                    report(0.5 + 0.5 * i / len(plan.images), f"Importing {i}/{len(plan.images)}")
            if without_face:
                ids = list(without_face)
                transaction.on_commit(
                    lambda: images_imported.send(sender=None, project=project, image_ids=ids, created_by=created_by)
                )
    except Exception:
        # The rows rolled back; the files they named must go too.
        for name in stored:
            default_storage.delete(name)
        raise
    report(1.0, "Imported")
    subsets: dict[str, int] = {}
    for planned in plan.images:
        subsets[planned.subset] = subsets.get(planned.subset, 0) + 1
    return {
        "images": len(plan.images),
        "subsets": subsets,
        "faces": len(plan.images) - len(without_face),
        "distributions": sum(1 for p in plan.images if p.distribution is not None),
    }


def _write(
    project: Project, planned: _Planned, created_by: AbstractBaseUser | None, stored: list[str]
) -> tuple[int, bool]:
    outcome = image_import_file(
        project=project, data=planned.path.read_bytes(), source=f"{planned.subset}/{layout.ORIGINAL_DIR}/{planned.name}"
    )
    if outcome.status != "imported" or outcome.image_id is None:
        # Validated a moment ago: the file changed, or another import added the same image.
        raise ServiceError(
            f"{outcome.source}: {outcome.status} ({outcome.reason}); nothing was imported.", code="changed"
        )
    image = Image.objects.get(pk=outcome.image_id)
    stored.append(image.file.name)
    has_face = planned.box is not None
    image.reference_label = planned.label - 1
    image.reference_subset = planned.subset
    image.reference_split = layout.split_of(planned.name)
    image.reference_distribution = planned.distribution
    image.status = ImageStatus.READY if has_face else ImageStatus.NEEDS_FACE
    image.save(
        update_fields=["reference_label", "reference_subset", "reference_split", "reference_distribution", "status"]
    )
    if has_face:
        assert planned.box is not None
        x1, y1, x2, y2 = planned.box
        manual = planned.manual
        face = Face(
            image=image,
            is_main=True,
            x1=x1,
            y1=y1,
            x2=x2,
            y2=y2,
            landmarks=[list(p) for p in manual.landmarks] if manual else None,
            auto_landmarks=planned.auto,
            landmarks_source=LandmarkSource.IMPORTED if manual else LandmarkSource.AUTO,
            gender=manual.gender if manual else None,
            race=manual.race if manual else None,
            age_range=manual.age if manual else None,
            updated_by=created_by,
        )
        if planned.aligned is not None:
            aligned = image_normalize(
                planned.aligned.read_bytes(),
                max_bytes=settings.RAF_MAX_IMAGE_BYTES,
                max_pixels=settings.RAF_MAX_IMAGE_PIXELS,
            )
            face.aligned.save(layout.aligned_name(planned.name), ContentFile(aligned.content), save=False)
            stored.append(face.aligned.name)
        face.save()
    return image.pk, has_face
