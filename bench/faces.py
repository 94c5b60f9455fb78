"""Face detection, landmark and alignment figures on the real photos of ``shared/face-data``.

    python bench/faces.py [--detector mtcnn|dlib] [--repeat 3]

- ``found_rate``: share of the London (neutral + smiling) and lisa photos with a face found
  (target 1.0).
- ``false_faces``: faces reported on the 18 ``nonface/`` photos (target 0).
- ``eye_error_median``: per photo with hand-placed pupils (London neutral, lisa), the mean
  distance of the two detected eye centres to the pupils divided by the pupils' distance;
  the median over photos (target <= 0.05).
- ``roll_error_max_deg``: largest |roll of the detected eyes - roll of the pupils| on lisa.
- ``images_per_s``: detection + alignment (colour and grey) + pose of the 64 London neutral
  photos (450x450, decoded beforehand) on one core: OpenCV and ONNX Runtime limited to one
  thread, torch too (target >= 20). Counted in the process's CPU time, so that other jobs
  sharing the machine do not count against it; ``images_per_s_wall`` is the wall-clock figure
  of the same best pass (equal on an idle machine).

``--detector dlib`` runs the alternative that was compared (dlib's HOG detector and its 68
point shape predictor from ``face-recognition-models``; neither is a RAF dependency: install
them by hand to reproduce the comparison in ``docs/faces.md``).
The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from training.alignment import align_colour_and_grey  # noqa: E402
from training.face import detect_faces, estimate_pose  # noqa: E402

Detector = Callable[[np.ndarray], list[np.ndarray]]  # RGB image -> list of (5, 2) landmarks, main first


def data_dir() -> Path:
    return Path(os.environ.get("RAF_SHARED_DIR", REPO_ROOT.parent / "shared")) / "face-data"


def read_rgb(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def read_pupils(path: Path) -> dict[str, np.ndarray]:
    with open(path, newline="") as handle:
        return {
            row["image"]: np.array(
                [
                    [float(row["image_left_pupil_x"]), float(row["image_left_pupil_y"])],
                    [float(row["image_right_pupil_x"]), float(row["image_right_pupil_y"])],
                ]
            )
            for row in csv.DictReader(handle)
        }


def mtcnn_detector() -> Detector:
    return lambda rgb: [face.landmarks for face in detect_faces(rgb)]


def dlib_detector() -> Detector:
    import importlib.util

    import dlib  # type: ignore[import-not-found]

    # face_recognition_models' own __init__ needs pkg_resources; only its data file is used.
    spec = importlib.util.find_spec("face_recognition_models")
    assert spec is not None and spec.submodule_search_locations, "install face-recognition-models"
    models = Path(next(iter(spec.submodule_search_locations))) / "models"
    finder = dlib.get_frontal_face_detector()
    shaper = dlib.shape_predictor(str(models / "shape_predictor_68_face_landmarks.dat"))

    def detect(rgb: np.ndarray) -> list[np.ndarray]:
        found = []
        for rect in finder(rgb, 0):
            shape = shaper(rgb, rect)
            p = np.array([[shape.part(i).x, shape.part(i).y] for i in range(68)], np.float32)
            # 68-point iBUG scheme: eyes 36-41 and 42-47, nose tip 30, mouth corners 48 and 54.
            found.append(np.stack([p[36:42].mean(0), p[42:48].mean(0), p[30], p[48], p[54]]))
        return found

    return detect


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--detector", choices=["mtcnn", "dlib"], default="mtcnn")
    parser.add_argument("--repeat", type=int, default=3, help="timing passes over the 64 photos (best kept)")
    args = parser.parse_args()

    cv2.setNumThreads(1)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    detector = mtcnn_detector() if args.detector == "mtcnn" else dlib_detector()
    root = data_dir()

    face_photos = sorted((root / "london").glob("*/*.jpg")) + sorted((root / "lisa").glob("*.jpg"))
    found, eye_errors, roll_errors = 0, [], []
    truth = {f"london/{k}": v for k, v in read_pupils(root / "london" / "pupils.csv").items()}
    truth |= {f"lisa/{k}": v for k, v in read_pupils(root / "lisa" / "pupils.csv").items()}
    for path in tqdm(face_photos, desc="faces", file=sys.stderr):
        faces = detector(read_rgb(path))
        found += bool(faces)
        key = str(path.relative_to(root))
        if faces and key in truth:
            pupils, eyes = truth[key], faces[0][:2]
            inter_ocular = float(np.linalg.norm(pupils[1] - pupils[0]))
            eye_errors.append(float(np.linalg.norm(eyes - pupils, axis=1).mean()) / inter_ocular)
            if key.startswith("lisa/"):
                roll_true = math.degrees(math.atan2(*(pupils[1] - pupils[0])[::-1]))
                roll_found = math.degrees(math.atan2(*(eyes[1] - eyes[0])[::-1]))
                roll_errors.append(abs(roll_found - roll_true))

    nonface = sorted((root / "nonface").glob("*.jpg"))
    false_faces = {p.name: len(detector(read_rgb(p))) for p in tqdm(nonface, desc="nonface", file=sys.stderr)}

    timing = [read_rgb(p) for p in sorted((root / "london" / "neutral").glob("*.jpg"))]
    best, best_wall = math.inf, math.inf
    for _ in range(args.repeat):
        start, start_wall = time.process_time(), time.perf_counter()
        for rgb in timing:
            for landmarks in detector(rgb)[:1]:
                align_colour_and_grey(rgb, landmarks)
                estimate_pose(landmarks, rgb.shape)
        best = min(best, time.process_time() - start)
        best_wall = min(best_wall, time.perf_counter() - start_wall)

    figures = {
        "detector": args.detector,
        "photos": len(face_photos),
        "found_rate": round(found / len(face_photos), 4),
        "false_faces": sum(false_faces.values()),
        "false_face_photos": [name for name, n in false_faces.items() if n],
        "eye_error_median": round(float(np.median(eye_errors)), 4),
        "eye_error_p90": round(float(np.percentile(eye_errors, 90)), 4),
        "roll_error_max_deg": round(max(roll_errors), 3) if roll_errors else None,
        "images_per_s": round(len(timing) / best, 1),
        "images_per_s_wall": round(len(timing) / best_wall, 1),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
