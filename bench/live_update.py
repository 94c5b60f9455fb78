"""CPU cost of one live reliability update at RAF scale (library part).

30,000 images x 40 votes from 315 annotators (1.2 M votes): a cold update on the first 95% of
the votes, then the measured warm update on all of them (``reliability.live.live_update``, at
most 3 EM iterations), the vote-prior refit and the spammer tests over every answer. CPU
seconds (``time.process_time``), so other jobs on the machine do not inflate it. The platform's
update also streams the votes out of Postgres, which is not counted here.
Last line: one JSON object.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reliability.adaptive import VotePrior, effective_counts  # noqa: E402
from reliability.live import live_table, live_update  # noqa: E402
from reliability.simulation import simulate_crowd  # noqa: E402
from reliability.spammers import SpammerRules, base_rate_prior, spammer_report, vote_predictive  # noqa: E402


def main() -> None:
    crowd = simulate_crowd(n_images=30_000, n_annotators=315, votes_per_image=40, spammer_fraction=0.1, seed=0)
    n = crowd.label.shape[0]
    order = np.random.default_rng(0).permutation(n)
    ann, img, lab = crowd.annotator[order], crowd.image[order], crowd.label[order]
    cut = int(0.95 * n)
    kw = {"n_annotators": 315, "n_images": 30_000, "classes": crowd.classes}
    state = live_update(live_table(ann[:cut], img[:cut], lab[:cut], **kw))
    figures = {}
    for run in range(3):
        cpu, wall = time.process_time(), time.perf_counter()
        live = live_update(live_table(ann, img, lab, **kw), state)
        em_cpu = time.process_time() - cpu
        counts, _ = effective_counts(img, lab, live.weight[ann], n_images=30_000, n_classes=7)
        prior = VotePrior.fit(counts)
        spammer_report(
            annotator=ann,
            label=lab,
            predictive=vote_predictive(
                counts, img, lab, (live.weight[ann] > 0).astype(float), base_rate_prior(counts, prior.alpha.sum())
            ),
            gold_label=np.full(n, -1),
            time_ms=None,
            n_annotators=315,
            n_classes=7,
            rules=SpammerRules(),
        )
        figures[f"run{run}"] = {
            "em_cpu_s": round(em_cpu, 3),
            "total_cpu_s": round(time.process_time() - cpu, 3),
            "wall_s": round(time.perf_counter() - wall, 3),
            "iterations": live.iterations,
        }
    print(json.dumps({"votes": n, **figures}))


if __name__ == "__main__":
    main()
