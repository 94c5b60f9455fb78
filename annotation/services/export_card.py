"""The ``hf`` export's dataset card: ``README.md`` with the YAML header the Hub reads
(licence, creators, tasks, sizes, the splits' files), then what the release holds.

Written last, from what the export wrote, and dependent on the run only, so that it hashes
alike in every export of the run. The names, descriptions and protocol sentences here are
shared with ``croissant.json`` (:mod:`annotation.services.export_croissant`).
"""

from __future__ import annotations

import json
import re
from typing import Any

from annotation.models import Project, ReliabilityRun
from annotation.services.export_writer import changes_sentence, snapshot_sentence

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
FIELD_DESCRIPTIONS = {
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
    lines += [f"| `{name}` | {FIELD_DESCRIPTIONS[name]} |" for name in stats["features"]]
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
        lines += [f"| {key} | {figure(value)} |" for key, value in sorted(run.metrics.items())]
        lines += ["", "| parameter | value |", "|---|---|"]
        lines += [f"| {key} | {figure(value)} |" for key, value in sorted(run.params.items())]
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


def figure(value: Any) -> str:
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
