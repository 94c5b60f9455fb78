"""The ``hf`` export and versioned releases: Parquet that ``datasets`` loads, Croissant that
``mlcroissant`` validates, the dataset card, content hashes, the vote snapshot, change lists."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import zipfile
from pathlib import Path

import pytest
import yaml
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command

from annotation.models import DatasetExport, ImageReliability, ReliabilityRun, Vote
from annotation.services.exports import dataset_export_to_path
from annotation.services.reliability import reliability_run_execute
from annotation.services.simulation import votes_simulate
from reliability.classes import BASIC_EMOTIONS, COMPOUND_BENCHMARK
from tests.annotation.export_factories import jpeg, make_image, project_with_run
from tests.annotation.reliability_factories import make_images, make_project, make_user

# Nothing may reach a hub: the tests read the local files only.
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"

pytestmark = pytest.mark.django_db


def _hf(tmp_path: Path, name: str = "hf", **kwargs) -> tuple[Path, dict]:
    project, run = kwargs.pop("made", None) or project_with_run(images=8)
    out = tmp_path / name
    kwargs.setdefault("format", "hf")
    return out, dataset_export_to_path(project=project, out=out, run=run, **kwargs)


def _load(folder: Path, tmp_path: Path):
    import datasets

    return datasets.load_dataset("parquet", data_dir=str(folder), cache_dir=str(tmp_path / "hf-cache"))


def _csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text())))


def test_it_loads_with_datasets_and_gives_the_runs_labels_and_distributions(tmp_path):
    project, run = project_with_run(images=8)
    out, summary = _hf(tmp_path, made=(project, run))
    loaded = _load(out, tmp_path)
    # images 0, 1, 4, 5, 7 basic, 2, 6 compound, 3 in no subset; i % 3 == 2 is test
    assert {split: len(rows) for split, rows in loaded.items()} == {"train": 5, "test": 2, "other": 1}
    features = loaded["train"].features
    assert features["label"].names == list(BASIC_EMOTIONS)
    assert features["compound_label"].names == list(COMPOUND_BENCHMARK)
    assert type(features["image"]).__name__ == "Image"
    expected = {r.image_id: r for r in ImageReliability.objects.filter(run=run)}
    seen = 0
    for split, rows in loaded.items():
        for row in rows:
            result = expected[row["image_id"]]
            assert row["label"] == result.label
            assert row["distribution"] == result.distribution
            assert row["counts"] == result.counts and row["n_votes"] == sum(result.counts)
            assert (row["subset"], row["subset_label"], row["split"]) == (
                result.subset,
                result.subset_label,
                result.split,
            )
            assert split == (result.split if result.subset else "other")
            assert row["image"].size == (96, 80)  # decoded by datasets' Image feature
            seen += 1
    assert seen == summary["images"] == 8
    compound = [row for row in loaded["train"] if row["subset"] == "compound"][0]
    assert COMPOUND_BENCHMARK[compound["compound_label"]] == compound["subset_label"]
    with_face = [row for row in loaded["train"] if row["box"] is not None][0]
    assert len(with_face["landmarks"]) == 5 and with_face["aligned"].size == (100, 100)
    assert (with_face["gender"], with_face["race"], with_face["age"]) == (1, 2, 2)
    no_face = [row for split in loaded.values() for row in split if row["box"] is None]
    assert len(no_face) == 2 and all(r["landmarks"] is None and r["gender"] is None for r in no_face)
    assert "posterior" not in features  # the run stores no posterior


def test_it_adds_the_posterior_column_when_the_run_stores_one(tmp_path):
    project, run = project_with_run(images=4)
    ImageReliability.objects.filter(run=run).update(posterior=[0.5, 0.5, 0, 0, 0, 0, 0])
    out, _ = _hf(tmp_path, made=(project, run))
    loaded = _load(out, tmp_path)
    assert all(row["posterior"] == [0.5, 0.5, 0, 0, 0, 0, 0] for split in loaded.values() for row in split)


def test_it_writes_croissant_that_mlcroissant_validates(tmp_path):
    import mlcroissant as mlc

    out, _ = _hf(tmp_path)
    metadata = json.loads((out / "croissant.json").read_text())
    assert metadata["conformsTo"] == "http://mlcommons.org/croissant/1.1"
    for key in (
        "rai:dataAnnotationProtocol",
        "rai:dataAnnotationPlatform",
        "rai:dataAnnotationAnalysis",
        "rai:annotationsPerItem",
        "rai:annotatorDemographics",
        "rai:machineAnnotationTools",
    ):
        assert metadata[key], key
    dataset = mlc.Dataset(jsonld=str(out / "croissant.json"))  # raises on any validation error
    assert dataset.metadata.annotations_per_item.startswith("4.0 counted votes per image")
    votes = list(dataset.records("votes"))
    assert len(votes) == 32


def test_it_writes_a_dataset_card_with_the_hubs_header(tmp_path):
    out, _ = _hf(tmp_path)
    text = (out / "README.md").read_text()
    _, header, body = text.split("---\n", 2)
    card = yaml.safe_load(header)
    assert card["annotations_creators"] == ["crowdsourced"]
    assert card["task_categories"] == ["image-classification"]
    assert card["size_categories"] == ["n<1K"]
    assert card["license"] == "cc-by-nc-4.0"  # "CC BY-NC 4.0 for research."
    assert card["configs"][0]["data_files"][0] == {"split": "train", "path": "data/train-*"}
    assert {s["name"]: s["num_examples"] for s in card["dataset_info"]["splits"]} == {
        "train": 5,
        "test": 2,
        "other": 1,
    }
    assert "cronbach_alpha | 0.9300" in body and "CC BY-NC 4.0 for research." in body


def test_two_exports_of_one_run_have_the_same_content_hash(tmp_path):
    project, run = project_with_run(images=6)
    for format in ("hf", "rafdb"):
        folder, first = _hf(tmp_path, f"{format}-1", made=(project, run), format=format)
        listed = dict(reversed(line.split("  ", 1)) for line in (folder / "checksums.sha256").read_text().splitlines())
        files = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()} - {"checksums.sha256"}
        assert set(listed) == files  # what `sha256sum -c` checks
        assert all(hashlib.sha256((folder / name).read_bytes()).hexdigest() == listed[name] for name in files)
        zipped = tmp_path / f"{format}-2.zip"
        second = dataset_export_to_path(project=project, out=zipped, run=run, format=format)
        assert first["content_hash"] == second["content_hash"]
        assert len(first["content_hash"]) == 64
        with zipfile.ZipFile(zipped) as archive:
            lines = archive.read("checksums.sha256").decode().splitlines()
        assert "votes.csv" in {line.split("  ")[1] for line in lines}
    assert (
        DatasetExport.objects.filter(run=run, format="hf").values_list("content_hash", flat=True).distinct().count()
        == 1
    )
    other_project, other_run = project_with_run(images=6, seed=1)
    _, other = _hf(tmp_path, "other", made=(other_project, other_run))
    assert other["content_hash"] != first["content_hash"]


def test_a_vote_cast_after_the_run_is_not_in_its_export(tmp_path):
    project = make_project(votes_wanted=6)
    images = make_images(project, 40)
    for i, image in enumerate(images):  # the rows name files; put photos there
        default_storage.save(image.file.name, ContentFile(jpeg(i)))
    votes_simulate(project=project, annotators=12, votes_per_image=6, spammers=0.0, seed=3)
    run = reliability_run_execute(run=ReliabilityRun.objects.create(project=project, method="glad"))
    assert run.votes_snapshot_at is not None and run.votes_snapshot_last_id is not None
    late = Vote.objects.create(image=images[0], annotator=make_user("annotator"), label=2, time_taken_ms=999)
    assert late.pk > run.votes_snapshot_last_id
    for format in ("rafdb", "hf"):
        out = tmp_path / format
        summary = dataset_export_to_path(project=project, out=out, run=run, format=format)
        votes = _csv(out / "votes.csv")
        assert len(votes) == summary["votes"] == run.metrics["votes"] == 240
        assert "999" not in {v["time_taken_ms"] for v in votes}
        assert "snapshot, taken" in (out / "README.md").read_text()


def test_it_lists_the_changes_since_the_previous_run(tmp_path):
    project, first = project_with_run(images=6)
    second = ReliabilityRun.objects.create(project=project, method="glad", succeeded=True)
    rows = list(ImageReliability.objects.filter(run=first).order_by("image_id"))
    for i, row in enumerate(rows[:-1]):  # the last image leaves the run
        row.pk, row.run = None, second
        if i == 0:
            row.label = (row.label + 1) % 7  # relabelled
        if i == 1:
            row.split = "test" if row.split == "train" else "train"  # moved
        row.save()
    added = make_image(project, 999)
    ImageReliability.objects.create(
        run=second, image=added, label=0, distribution=[1, 0, 0, 0, 0, 0, 0], counts=[4, 0, 0, 0, 0, 0, 0]
    )
    for format in ("rafdb", "hf"):
        out = tmp_path / format
        summary = dataset_export_to_path(project=project, out=out, run=second, format=format)
        assert summary["changes_from"] == first.pk
        assert summary["changes"] == {"added": 1, "removed": 1, "relabelled": 1, "moved": 1}
        changes = {(int(r["image_id"]), r["change"]) for r in _csv(out / "changes.csv")}
        assert changes == {
            (rows[0].image_id, "relabelled"),
            (rows[1].image_id, "moved"),
            (rows[-1].image_id, "removed"),
            (added.pk, "added"),
        }
    first_export = dataset_export_to_path(project=project, out=tmp_path / "first", run=first)
    assert first_export["changes"] is None and not (tmp_path / "first" / "changes.csv").exists()


def test_it_exports_hf_from_the_command_line(tmp_path):
    project, run = project_with_run(images=4)
    out = tmp_path / "cli-hf.zip"
    call_command("export_dataset", "--run", str(run.pk), "--format", "hf", "--out", str(out), verbosity=0)
    with zipfile.ZipFile(out) as archive:
        names = set(archive.namelist())
    assert {"README.md", "croissant.json", "checksums.sha256", "votes.csv"} <= names
    assert any(name.startswith("data/train-00000-of-") for name in names)
    assert DatasetExport.objects.get(run=run).format == "hf"


def test_it_exports_an_imported_rafdb_copys_reference_labels_as_hf(tmp_path):
    from annotation.models import Image, Project
    from annotation.services.rafdb import rafdb_import
    from tests.annotation.export_factories import write_rafdb_layout

    project = Project.objects.create(name="RAF-DB copy", licence_text="Research only.")
    rafdb_import(project=project, path=write_rafdb_layout(tmp_path / "copy", basic=6, compound=3))
    out = tmp_path / "reference-hf"
    summary = dataset_export_to_path(project=project, out=out, reference=True, format="hf")
    assert summary["images"] == 9 and summary["changes"] is None
    loaded = _load(out, tmp_path)
    rows = {row["image_id"]: row for split in loaded.values() for row in split}
    for image in Image.objects.filter(project=project):
        row = rows[image.pk]
        assert (row["subset"], row["split"]) == (image.reference_subset, image.reference_split)
        if image.reference_subset == "basic":
            assert row["label"] == image.reference_label
        else:
            assert COMPOUND_BENCHMARK[row["compound_label"]] == row["subset_label"]
    card = yaml.safe_load((out / "README.md").read_text().split("---\n", 2)[1])
    assert card["license"] == "other" and (out / "LICENSE").read_text() == "Research only.\n"
