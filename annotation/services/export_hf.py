"""The ``hf`` export: a reliability run as Parquet shards that ``datasets`` loads in one call.

``data/{split}-{i:05d}-of-{n:05d}.parquet`` per split, the file names ``push_to_hub`` writes
and ``load_dataset("parquet", data_dir=...)`` reads as splits: ``train`` and ``test`` as the
run split them, ``other`` for images in no benchmark split (no subset, or the compound class
dropped from the benchmark). One row per image: its bytes, the aligned face, the label, the
paper's ``g`` distribution, raw vote counts, the estimator's posterior (when the run stores one),
subset, split, attributes, landmarks and box. The ``datasets`` feature types (``Image``,
``ClassLabel``, fixed-length lists) ride in the Parquet schema's ``huggingface`` metadata, so
the Arrow types and the loaded features agree without the library at export time.

Streaming as the RAF-DB export: rows arrive in chunks from the selector, each split's writer
holds one row group (:data:`ROW_GROUP` images) in memory and writes into a temporary file that
goes into the sink once the split is complete (a zip takes one open member at a time).
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from pathlib import Path, PurePosixPath
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from annotation.models import Project, ReliabilityRun
from annotation.models.face import AgeRange, Gender, Race
from annotation.selectors.exports import ExportRow, export_counts, export_rows, run_stores_posteriors
from annotation.services.export_card import dataset_card, hf_licence
from annotation.services.export_croissant import croissant
from annotation.services.export_release import ChecksumSink
from annotation.services.export_writer import ExportSink, Progress, aligned_face_bytes, storage_read
from reliability.classes import COMPOUND_BENCHMARK

FILE_SPLITS: tuple[str, ...] = ("train", "test", "other")
ROW_GROUP = 100  # images per Parquet row group: the unit readers (and the Hub's viewer) fetch
SHARD_BYTES = 500 << 20  # a new shard once a file passes this (the Hub's advice: 100 MB-1 GB)
GENDERS = [str(label).lower() for label in Gender.labels]
RACES = [str(label).lower() for label in Race.labels]
AGES = [str(label).lower() for label in AgeRange.labels]


def hf_shard_name(split: str, index: int, count: int) -> str:
    return f"data/{split}-{index:05d}-of-{count:05d}.parquet"


def hf_features(*, classes: list[str], with_posterior: bool) -> dict[str, Any]:
    """The columns as ``datasets.Features.to_dict()`` writes them, in column order."""
    k = len(classes)

    def value(dtype: str) -> dict[str, Any]:
        return {"dtype": dtype, "_type": "Value"}

    def array(dtype: str, length: int = -1) -> dict[str, Any]:
        return {"feature": value(dtype), "length": length, "_type": "List"}

    def labels(names: list[str]) -> dict[str, Any]:
        return {"names": list(names), "_type": "ClassLabel"}

    features: dict[str, Any] = {
        "image": {"_type": "Image"},
        "aligned": {"_type": "Image"},
        "image_id": value("int64"),
        "label": labels(classes),
        "distribution": array("float64", k),
        "counts": array("int32", k),
        "n_votes": value("int32"),
    }
    if with_posterior:
        features["posterior"] = array("float64", k)
    features |= {
        "subset": value("string"),
        "subset_label": value("string"),
        "compound_label": labels(list(COMPOUND_BENCHMARK)),
        "split": value("string"),
        "gender": labels(GENDERS),
        "race": labels(RACES),
        "age": labels(AGES),
        "landmarks": {"feature": array("float64", 2), "length": -1, "_type": "List"},
        "landmarks_source": value("string"),
        "box": array("float64", 4),
    }
    return features


def _arrow_type(feature: dict[str, Any]) -> pa.DataType:
    kind = feature["_type"]
    if kind == "Image":
        return pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    if kind == "ClassLabel":
        return pa.int64()
    if kind == "List":
        item = _arrow_type(feature["feature"])
        return pa.list_(item, feature["length"]) if feature["length"] >= 0 else pa.list_(item)
    return pa.type_for_alias(feature["dtype"])


def hf_schema(features: dict[str, Any]) -> pa.Schema:
    metadata = {"huggingface": json.dumps({"info": {"features": features}})}
    return pa.schema([pa.field(name, _arrow_type(f)) for name, f in features.items()], metadata=metadata)


def file_split(row: ExportRow) -> str:
    """The split file a row goes into: the run's split for benchmark images, else ``other``."""
    if row.split not in ("train", "test") or row.subset not in ("basic", "compound"):
        return "other"
    if row.subset == "compound" and row.subset_label not in COMPOUND_BENCHMARK:
        return "other"
    return row.split


class _SplitWriter:
    """One split's shards: a row group in memory, the rest in temporary files."""

    def __init__(self, split: str, schema: pa.Schema, folder: Path) -> None:
        self.split, self.schema, self.folder = split, schema, folder
        self.shards: list[Path] = []
        self.rows = 0
        self._writer: pq.ParquetWriter | None = None
        self._buffer: dict[str, list[Any]] = {name: [] for name in schema.names}

    def add(self, record: dict[str, Any]) -> None:
        for name, column in self._buffer.items():
            column.append(record.get(name))
        self.rows += 1
        if len(self._buffer["image_id"]) >= ROW_GROUP:
            self._flush()

    def _flush(self) -> None:
        if not self._buffer["image_id"]:
            return
        if self._writer is None:
            path = self.folder / f"{self.split}-{len(self.shards):05d}.parquet"
            self.shards.append(path)
            self._writer = pq.ParquetWriter(
                path,
                self.schema,
                compression="snappy",
                # Image bytes are JPEG: neither a dictionary nor compression gains anything.
                use_dictionary=[name for name in self.schema.names if name not in ("image", "aligned")],
            )
        self._writer.write_table(pa.Table.from_pydict(self._buffer, schema=self.schema))
        self._buffer = {name: [] for name in self.schema.names}
        if self.shards[-1].stat().st_size >= SHARD_BYTES:
            self._writer.close()
            self._writer = None

    def finish(self) -> list[Path]:
        self._flush()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        return self.shards


def _record(row: ExportRow, classes: list[str], stats: dict[str, Any], *, with_posterior: bool) -> dict[str, Any]:
    original = storage_read(row.file)
    face = row.face
    aligned = aligned_face_bytes(face, original, stats)
    suffix = PurePosixPath(row.file).suffix.lower() or ".jpg"
    record: dict[str, Any] = {
        "image": {"bytes": original, "path": f"{row.image_id}{suffix}"},
        "aligned": None if aligned is None else {"bytes": aligned, "path": f"{row.image_id}_aligned.jpg"},
        "image_id": row.image_id,
        "label": row.label if row.label is not None and 0 <= row.label < len(classes) else None,
        "distribution": row.distribution,
        "counts": row.counts,
        "n_votes": sum(row.counts) if row.counts else None,
        "subset": row.subset,
        "subset_label": row.subset_label,
        "compound_label": COMPOUND_BENCHMARK.index(row.subset_label)
        if row.subset == "compound" and row.subset_label in COMPOUND_BENCHMARK
        else None,
        "split": row.split,
    }
    if with_posterior:
        record["posterior"] = row.posterior
    if face is not None:
        record |= {
            "gender": face.gender,
            "race": face.race,
            "age": face.age,
            "landmarks": face.landmarks or None,
            "landmarks_source": face.landmarks_source,
            "box": list(face.box),
        }
    else:
        stats["annotation_missing"] += 1
    return record


def write_hf_tables(
    *, project: Project, run: ReliabilityRun | None, sink: ExportSink, report: Progress, n_votes: int
) -> dict[str, Any]:
    """Every image of the run as Parquet shards per split into ``sink``; returns the counts the
    dataset card and ``croissant.json`` describe."""
    classes = list(project.classes)
    with_posterior = run_stores_posteriors(run=run)
    features = hf_features(classes=classes, with_posterior=with_posterior)
    schema = hf_schema(features)
    n_images = sum(export_counts(project=project, run=run).values())
    total_work = max(n_images + n_votes / 50, 1)
    stats: dict[str, Any] = {
        "images": 0,
        "per_class": Counter(),
        "per_label": Counter(),
        "aligned_computed": 0,
        "aligned_missing": 0,
        "annotation_missing": 0,
        "excluded_compound": 0,
        "features": features,
        "with_posterior": with_posterior,
        "splits": {},
        "shards": {},
    }
    report(0.0, f"Exporting {n_images} images")
    with tempfile.TemporaryDirectory(prefix="raf-hf-") as folder:
        writers = {split: _SplitWriter(split, schema, Path(folder)) for split in FILE_SPLITS}
        for row in export_rows(project=project, run=run):
            split = file_split(row)
            writers[split].add(_record(row, classes, stats, with_posterior=with_posterior))
            if split != "other":
                stats["per_class"][(row.subset, row.split, row.subset_label)] += 1
            elif row.subset == "compound":
                stats["excluded_compound"] += 1
            if row.label is not None and 0 <= row.label < len(classes):
                stats["per_label"][(split, classes[row.label])] += 1
            stats["images"] += 1
            if stats["images"] % 200 == 0:
                report(stats["images"] / total_work, f"Images {stats['images']}/{n_images}")
        for split, writer in writers.items():
            shards = writer.finish()
            names = [hf_shard_name(split, i, len(shards)) for i in range(len(shards))]
            for name, path in zip(names, shards, strict=True):
                sink.write_file(name, path, compress=False)
                path.unlink()
            if names:
                stats["splits"][split] = writer.rows
                stats["shards"][split] = names
    stats["work_done"] = stats["images"] / total_work
    return stats


def write_hf_metadata(
    *, project: Project, run: ReliabilityRun | None, sink: ChecksumSink, stats: dict[str, Any], platform_version: str
) -> None:
    """``croissant.json`` (from the checksums of the files written so far), then ``README.md``."""
    text = json.dumps(
        croissant(project=project, run=run, stats=stats, sink=sink, platform_version=platform_version),
        indent=2,
        ensure_ascii=False,
    )
    sink.open_text("croissant.json").write(text + "\n")
    if hf_licence(project.licence_text) == "other":
        sink.open_text("LICENSE").write((project.licence_text.strip() or "The project sets no licence text.") + "\n")
    sink.open_text("README.md").write(
        dataset_card(project=project, run=run, stats=stats, platform_version=platform_version)
    )
