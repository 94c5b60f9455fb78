"""The dataset export: RAF-DB layout, CSVs, datasheet, pseudonyms, streaming."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from annotation.errors import ServiceError
from annotation.models import DatasetExport, ReliabilityRun
from annotation.selectors import exports as selectors
from annotation.services import export_writer
from annotation.services.export_release import release_salt
from annotation.services.export_writer import Pseudonyms, ZipSink, write_dataset
from annotation.services.exports import dataset_export_to_path
from tests.annotation.export_factories import project_with_run
from training import rafdb_layout as layout

pytestmark = pytest.mark.django_db


def _zip(tmp_path: Path) -> tuple[zipfile.ZipFile, dict]:
    project, run = project_with_run(images=8)
    out = tmp_path / "export.zip"
    summary = dataset_export_to_path(project=project, out=out, run=run)
    return zipfile.ZipFile(out), summary


def test_it_writes_the_rafdb_layout_for_basic_and_compound(tmp_path):
    archive, summary = _zip(tmp_path)
    names = set(archive.namelist())
    basic = archive.read("basic/EmoLabel/list_patition_label.txt").decode().split("\n")
    rows = [line.split() for line in basic if line]
    # images 0, 1, 4, 5, 7 are basic (7 forced basic); only 5 is a test image (i % 3 == 2)
    assert [r[0] for r in rows] == [
        "train_00001.jpg",
        "train_00002.jpg",
        "train_00003.jpg",
        "train_00004.jpg",
        "test_0001.jpg",
    ]
    assert all(1 <= int(r[1]) <= 7 for r in rows)
    compound = [
        line.split() for line in archive.read("compound/EmoLabel/list_patition_label.txt").decode().split("\n") if line
    ]
    assert [r[0] for r in compound] == ["train_0001.jpg", "test_0001.jpg"]
    assert all(1 <= int(r[1]) <= 11 for r in compound)
    for name, _ in rows:
        assert f"basic/Image/original/{name}" in names
        # train_00004 is image 7, which has no face: no alignment, no annotation files
        has_face = name != "train_00004.jpg"
        assert (f"basic/Image/aligned/{layout.aligned_name(name)}" in names) == has_face
        assert (f"basic/Annotation/manual/{layout.manual_name(name)}" in names) == has_face
    assert "basic/Annotation/manual/train_00001_manu_attri.txt" in names
    assert "basic/Annotation/boundingbox/train_00001_boundingbox.txt" in names
    manual = layout.parse_manual(archive.read("basic/Annotation/manual/train_00001_manu_attri.txt").decode())
    assert (manual.gender, manual.race, manual.age) == (1, 2, 2)
    assert "basic/EmoLabel/distribution_basic.txt" in names
    assert summary["images"] == 8 and summary["votes"] == 32


def test_it_stores_jpegs_and_deflates_text(tmp_path):
    archive, _ = _zip(tmp_path)
    for info in archive.infolist():
        expected = zipfile.ZIP_STORED if info.filename.endswith(".jpg") else zipfile.ZIP_DEFLATED
        assert info.compress_type == expected, info.filename


def test_it_computes_an_aligned_face_from_landmarks_when_none_is_stored(tmp_path):
    archive, summary = _zip(tmp_path)
    # odd images have landmarks but no stored alignment
    assert summary["aligned_computed"] > 0
    import cv2
    import numpy as np

    for name in archive.namelist():
        if "/Image/aligned/" in name:
            face = cv2.imdecode(np.frombuffer(archive.read(name), np.uint8), cv2.IMREAD_COLOR)
            assert face.shape == (100, 100, 3)


def test_it_maps_rafdb_names_to_image_ids_in_distributions_csv(tmp_path):
    archive, _ = _zip(tmp_path)
    rows = list(csv.DictReader(io.StringIO(archive.read("distributions.csv").decode())))
    assert len(rows) == 8
    named = [r for r in rows if r["rafdb_name"]]
    assert {r["subset"] for r in named} == {"basic", "compound"}
    assert {r["subset"] for r in rows if not r["rafdb_name"]} == {""}
    row = named[0]
    assert (
        sum(int(row[f"count_{c}"]) for c in ("surprise", "fear", "disgust", "happiness", "sadness", "anger", "neutral"))
        == int(row["n_votes"])
        == 4
    )
    assert abs(sum(float(v) for k, v in row.items() if k.startswith("p_")) - 1) < 1e-4


def test_it_never_writes_user_names_or_emails(tmp_path):
    project, run = project_with_run(images=8)
    out = tmp_path / "export.zip"
    dataset_export_to_path(project=project, out=out, run=run)
    secrets = set()
    for account in project.qualifications.select_related("annotator"):
        secrets |= {account.annotator.username, account.annotator.email}
    user_ids = {str(q.annotator_id) for q in project.qualifications.all()}
    with zipfile.ZipFile(out) as archive:
        for name in archive.namelist():
            text = archive.read(name).decode("latin-1")
            for secret in secrets:
                assert secret not in text, (secret, name)
        votes = list(csv.DictReader(io.StringIO(archive.read("votes.csv").decode())))
        annotators = list(csv.DictReader(io.StringIO(archive.read("annotators.csv").decode())))
    assert len(votes) == 32
    # stable within the export: the annotators file and the votes use the same pseudonyms
    assert {v["annotator"] for v in votes} == {a["annotator"] for a in annotators}
    assert not user_ids & {v["annotator"] for v in votes}
    assert len({a["annotator"] for a in annotators}) == 4
    assert {a["gold_accuracy"] for a in annotators} == {"0.8000"}


def test_it_gives_the_same_pseudonyms_in_every_export_of_a_run_and_new_ones_for_another_run(tmp_path):
    assert Pseudonyms()(7) != Pseudonyms()(7)  # without a release salt: a fresh random one
    one = Pseudonyms()
    assert one(7) == one(7) and one(7) != one(8)
    assert Pseudonyms(b"a" * 32)(7) != Pseudonyms(b"b" * 32)(7)
    project, run = project_with_run(images=2)
    other = ReliabilityRun.objects.create(project=project, succeeded=True)

    def names(run, out):
        dataset_export_to_path(project=project, out=tmp_path / out, run=run)
        return [row["annotator"] for row in csv.DictReader((tmp_path / out / "annotators.csv").open())]

    first, again = names(run, "a"), names(run, "b")
    assert first == again and len(set(first)) == 4
    user_ids = list(project.qualifications.values_list("annotator_id", flat=True))
    in_run = Pseudonyms(release_salt(project=project, run=run))
    in_other = Pseudonyms(release_salt(project=project, run=other))
    assert sorted(first) == sorted(in_run(i) for i in user_ids)
    assert not {in_run(i) for i in user_ids} & {in_other(i) for i in user_ids}


def test_it_writes_a_datasheet_with_counts_metrics_and_licence(tmp_path):
    archive, _ = _zip(tmp_path)
    readme = archive.read("README.md").decode()
    assert "cronbach_alpha | 0.9300" in readme
    assert "max_iter | 100" in readme
    assert "CC BY-NC 4.0 for research." in readme
    assert "| basic |" in readme and "| compound |" in readme
    assert "RAF 0.1.0" in readme


def test_it_streams_rows_into_the_archive_instead_of_collecting_them(tmp_path, monkeypatch):
    project, run = project_with_run(images=8)
    monkeypatch.setattr(selectors, "CHUNK", 2)
    produced = {"rows": 0}
    real_rows = export_writer.export_rows

    def counting_rows(**kwargs):
        for row in real_rows(**kwargs):
            produced["rows"] += 1
            yield row

    monkeypatch.setattr(export_writer, "export_rows", counting_rows)
    rows_at_first_image: list[int] = []

    class RecordingSink(ZipSink):
        def write_bytes(self, name, data, *, compress):
            if name.endswith(".jpg") and not rows_at_first_image:
                rows_at_first_image.append(produced["rows"])
            super().write_bytes(name, data, compress=compress)

    with (tmp_path / "x.zip").open("wb") as handle:
        write_dataset(project=project, run=run, sink=RecordingSink(handle))
    assert produced["rows"] == 8
    assert rows_at_first_image and rows_at_first_image[0] < 8


def test_it_exports_the_current_run_by_default_and_refuses_a_failed_one(tmp_path):
    project, run = project_with_run(images=4)
    summary = dataset_export_to_path(project=project, out=tmp_path / "folder")
    assert (tmp_path / "folder" / "basic" / "EmoLabel" / "list_patition_label.txt").is_file()
    assert DatasetExport.objects.get(pk=summary["export"]).run == run
    failed = ReliabilityRun.objects.create(project=project, succeeded=False)
    with pytest.raises(ServiceError, match="succeeded"):
        dataset_export_to_path(project=project, out=tmp_path / "other", run=failed)
    ReliabilityRun.objects.filter(pk=run.pk).update(is_current=False)
    with pytest.raises(ServiceError, match="no current reliability run"):
        dataset_export_to_path(project=project, out=tmp_path / "third")


def test_it_exports_from_the_command_line_into_a_zip(tmp_path):
    project, run = project_with_run(images=4)
    out = tmp_path / "cli.zip"
    call_command("export_dataset", "--run", str(run.pk), "--out", str(out), verbosity=0)
    with zipfile.ZipFile(out) as archive:
        assert "votes.csv" in archive.namelist()
    assert DatasetExport.objects.filter(run=run, source="run").count() == 1
    with pytest.raises(CommandError, match="No reliability run"):
        call_command("export_dataset", "--run", "999999", "--out", str(tmp_path / "y.zip"), verbosity=0)
    with pytest.raises(CommandError, match="not empty"):
        (tmp_path / "full").mkdir()
        (tmp_path / "full" / "a").write_text("x")
        call_command("export_dataset", "--project", str(project.pk), "--out", str(tmp_path / "full"), verbosity=0)


def test_it_pages_through_votes_without_losing_or_repeating_any(tmp_path, monkeypatch):
    project, run = project_with_run(images=8)
    monkeypatch.setattr(selectors, "VOTE_CHUNK", 5)
    out = tmp_path / "paged"
    dataset_export_to_path(project=project, out=out, run=run)
    with (out / "votes.csv").open() as handle:
        votes = [(row["image_id"], row["annotator"]) for row in csv.DictReader(handle)]
    assert len(votes) == len(set(votes)) == 32


def test_it_writes_vote_times_as_iso_utc(tmp_path):
    from datetime import UTC, datetime

    from annotation.models import Vote

    project, run = project_with_run(images=2)
    out = tmp_path / "times"
    dataset_export_to_path(project=project, out=out, run=run)
    with (out / "votes.csv").open() as handle:
        written = [row["created_at"] for row in csv.DictReader(handle)]
    expected = [v.astimezone(UTC) for v in Vote.objects.order_by("id").values_list("created_at", flat=True)]
    parsed = [datetime.fromisoformat(text.replace("Z", "+00:00")) for text in written]
    assert all(text.endswith("Z") and "T" in text for text in written)
    assert parsed == expected


def test_it_writes_the_posterior_next_to_g_and_says_which_is_which(tmp_path):
    project, run = project_with_run(images=8)
    run.metrics = {**run.metrics, "gold_images": 40, "gold_accuracy": 0.925, "gold_accuracy_ci95": [0.8, 0.97]}
    run.save(update_fields=["metrics"])
    row = run.images.order_by("image_id").first()
    posterior = [0.0] * 7
    posterior[row.label] = 1.0
    row.posterior = posterior
    row.save(update_fields=["posterior"])
    out = tmp_path / "export.zip"
    dataset_export_to_path(project=project, out=out, run=run)
    archive = zipfile.ZipFile(out)
    rows = {r["image_id"]: r for r in csv.DictReader(io.StringIO(archive.read("distributions.csv").decode()))}
    written = rows[str(row.image_id)]
    assert [float(written[f"posterior_{c}"]) for c in project.classes] == posterior
    assert all(r["posterior_neutral"] == "" for key, r in rows.items() if key != str(row.image_id))
    readme = archive.read("README.md").decode()
    assert "`posterior_<class>`: the estimator's posterior" in readme
    assert "`p_<class>`: the paper's distribution g" in readme
    assert "the argmax of the estimator's posterior" in readme
    assert "Label accuracy on the project's 40 gold images: 0.9250 (95% Wilson interval 0.8000 to 0.9700)" in readme
