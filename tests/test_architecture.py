"""`reliability/` and `training/` are libraries: they never import Django, DRF or Celery."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = ("django", "rest_framework", "celery", "drf_spectacular", "annotation", "frontend", "config")


def imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


@pytest.mark.parametrize("package", ["reliability", "training"])
def test_it_keeps_the_libraries_free_of_django(package: str) -> None:
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for name in imported_modules(path)
        if name.split(".")[0] in FORBIDDEN
    ]
    assert offenders == []


def test_it_flags_a_django_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from django.db import models\nimport celery.app\n")
    assert imported_modules(bad) == ["django.db", "celery.app"]


LAYER_FORBIDDEN = ("rest_framework", "drf_spectacular", "annotation.apis", "frontend")


@pytest.mark.parametrize(
    "layer", ["annotation/services", "annotation/selectors", "annotation/models", "annotation/errors.py"]
)
def test_it_keeps_services_selectors_and_models_free_of_the_web_layer(layer: str) -> None:
    root = ROOT / layer
    paths = [root] if root.is_file() else sorted(root.rglob("*.py"))
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in paths
        for name in imported_modules(path)
        if any(name == forbidden or name.startswith(forbidden + ".") for forbidden in LAYER_FORBIDDEN)
    ]
    assert offenders == []


WRITES = {"save", "update", "delete", "create", "bulk_create", "bulk_update", "get_or_create", "update_or_create",
          "select_for_update"}  # fmt: skip


def test_selectors_never_write() -> None:
    offenders = []
    for path in sorted((ROOT / "annotation" / "selectors").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in WRITES:
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} .{node.func.attr}()")
    assert offenders == []
