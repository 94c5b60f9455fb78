"""Export a trained model to TorchScript or ONNX, with a model card.

    python -m training.export RUN --format torchscript|onnx [--out DIR]

The exported graph takes ``(B, 1, crop, crop)`` float grey faces in [0, 1] (the centre crop
of an aligned 100x100 face / 255) and returns ``probabilities (B, C)`` and the deep feature
``(B, 2000)``. The model card (``model_card.json`` and ``model_card.md`` beside the export, and
embedded in the file) records classes, input, data version, reliability run, config and metrics.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from training.train import MODEL, load_checkpoint, model_from_checkpoint

FORMATS = {"torchscript": "model.torchscript.pt", "onnx": "model.onnx"}
CARD_KEY = "model_card.json"


class ExportedClassifier(nn.Module):
    """baseDCNN with a softmax on its logits: ``x (B, 1, S, S) -> (probabilities (B, C), features (B, D))``."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits, features = self.model(x)
        return torch.softmax(logits, dim=1), features


def model_card(checkpoint: dict[str, Any], run_dir: Path | None) -> dict[str, Any]:
    """Everything a user of the exported file needs to know, as a JSON-ready dict."""
    config = checkpoint["config"]
    metrics: dict[str, Any] = {"softmax_validation": checkpoint.get("metrics", {})}
    if run_dir is not None and (run_dir / "eval.json").exists():
        metrics = json.loads((run_dir / "eval.json").read_text())
    extra = checkpoint.get("extra", {}) or {}
    return {
        "name": f"baseDCNN-{config['loss']}",
        "architecture": "baseDCNN (Li & Deng 2019, Table IV)",
        "loss": config["loss"],
        "classes": list(checkpoint["classes"]),
        "input": {
            "shape": [None, 1, config["crop"], config["crop"]],
            "description": f"aligned 100x100 grey face, centre {config['crop']}x{config['crop']} crop, divided by 255",
        },
        "outputs": {"probabilities": [None, len(checkpoint["classes"])], "features": [None, config["feature_dim"]]},
        "data_version": checkpoint.get("data_version"),
        "reliability_run": extra.get("reliability_run"),
        "training_run": extra.get("training_run"),
        "iterations": checkpoint.get("iteration"),
        "config": config,
        "metrics": metrics,
    }


def card_markdown(card: dict[str, Any]) -> str:
    lines = [
        f"# Model card: {card['name']}",
        "",
        f"- Architecture: {card['architecture']}, loss `{card['loss']}`, {card['iterations']} iterations",
        f"- Classes (output order): {', '.join(card['classes'])}",
        f"- Input: `{card['input']['shape']}`, {card['input']['description']}",
        f"- Outputs: probabilities `{card['outputs']['probabilities']}`, deep features `{card['outputs']['features']}`",
        f"- Data version: `{card['data_version']}`; reliability run: {card['reliability_run'] or 'n/a'}",
        "",
        "## Metrics",
        "",
        "```json",
        json.dumps(card["metrics"], indent=2),
        "```",
        "",
        "## Training configuration",
        "",
        "```json",
        json.dumps(card["config"], indent=2),
        "```",
        "",
        "Intended use: research on facial expression recognition. Trained on crowd-sourced labels;",
        "expect biases of the training population (see the dataset's datasheet).",
        "",
    ]
    return "\n".join(lines)


def export_model(source: Path | str, fmt: str, out_dir: Path | str | None = None) -> Path:
    """Export ``source`` (a RUN directory or a model/checkpoint file) as ``fmt``; returns the file."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    source = Path(source)
    run_dir = source if source.is_dir() else None
    checkpoint = load_checkpoint(source)
    wrapper = ExportedClassifier(model_from_checkpoint(checkpoint)).eval()
    card = model_card(checkpoint, run_dir)
    out = Path(out_dir) if out_dir else (run_dir or source.parent) / "export"
    out.mkdir(parents=True, exist_ok=True)
    path = out / FORMATS[fmt]
    crop = int(checkpoint["config"]["crop"])
    example = torch.rand(2, 1, crop, crop)
    card_text = json.dumps(card)
    if fmt == "torchscript":
        # torch.jit is deprecated in favour of torch.export, but its files still load anywhere
        # libtorch runs (C++, mobile) without Python; silence the notice, not real warnings.
        with torch.no_grad(), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*torch.jit.* is deprecated", category=DeprecationWarning)
            traced = torch.jit.trace(wrapper, example)
            torch.jit.save(traced, str(path), _extra_files={CARD_KEY: card_text})
    else:
        import onnx

        with warnings.catch_warnings():
            # dynamo=False: the TorchScript-based exporter needs no onnxscript and handles this graph.
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(
                wrapper, (example,), str(path), input_names=["input"], output_names=["probabilities", "features"],
                dynamic_axes={"input": {0: "batch"}, "probabilities": {0: "batch"}, "features": {0: "batch"}},
                opset_version=17, dynamo=False,
            )  # fmt: skip
        proto = onnx.load(str(path))
        entry = proto.metadata_props.add()
        entry.key, entry.value = CARD_KEY, card_text
        onnx.save(proto, str(path))
    # One card per export folder, listing every format exported into it.
    card_path = out / "model_card.json"
    files = json.loads(card_path.read_text()).get("files", {}) if card_path.exists() else {}
    files[fmt] = {"name": path.name, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    card["files"] = files
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    (out / "model_card.md").write_text(card_markdown(card))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.export", description=__doc__.split("\n\n")[0])
    parser.add_argument("run", help=f"RUN directory (uses {MODEL}) or a model/checkpoint file")
    parser.add_argument("--format", choices=sorted(FORMATS), default="torchscript")
    parser.add_argument("--out", help="output directory (default RUN/export)")
    args = parser.parse_args(argv)
    try:
        path = export_model(args.run, args.format, args.out)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"export": str(path), "card": str(path.parent / "model_card.json")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
