"""Adaptive vote allocation and spammer rules, replayed on a RAF-shaped crowd and the public sets.

1. A simulated RAF-shaped crowd (``reliability.simulation``; default 30,000 images, 315
   annotators, 40 votes each, 10% spammers, 2% adversarial annotators, 20% compound images).
   The simulator's spammers answer uniformly at random; here a third of them answer fast
   (median 300 ms), a third straight-line (one key, 95% of the time) and a third answer at
   human speed (median 2.5 s, like honest annotators). Gold checks are added as a platform with
   a probation would serve them: 400 clear gold images, 15 gold checks among each annotator's
   first 30 answers (every other answer), then one check per 20 answers. (The platform itself
   draws gold at a flat ``gold_rate`` today; ``raf_shaped(probation_gold=0)`` simulates that.)
   Compared: the full-votes run (the paper's pipeline, GLAD, on every vote) against replays
   (:mod:`reliability.replay`, the same pipeline on the votes they kept) under ``fixed``, the
   issue's plain rule (flat Dirichlet(1) prior, the partition outcome alone, confidence 0.95;
   on raw counts without spammer control, and on weighted counts with it) and ``adaptive``.
2. Every set in ``$RAF_SHARED_DIR/crowd-data/``: ``fixed`` against ``adaptive`` on the same
   votes (``max_votes`` the most any task has, ``min_votes`` half of it, rounded up: fixed before
   looking at any result; ``--min-fraction`` to change), accuracy of the replays' label (argmax
   of g) against gold, in ``--real-seeds`` replay orders (the first is the headline figure).
   ``--lodo`` instead chooses the fraction per set by leave-one-dataset-out (``run_lodo``).

Agreement: ``basic_agreement`` is the share of the full run's basic images that the replay puts
in the basic subset with the same label; ``compound_agreement`` the same for the compound subset
and its (unordered) pair; ``*_symmetric`` divide by the images basic (compound) in either run.
``mean_js``: mean Jensen-Shannon divergence (natural log) between each image's distributions.
Spammer precision and recall count spammers and adversarial annotators as the bad ones.
Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from reliability.adaptive import AllocationPolicy, partition_outcome  # noqa: E402
from reliability.pipeline import estimate  # noqa: E402
from reliability.replay import ReplayResult, ReplayVotes, replay  # noqa: E402
from reliability.simulation import simulate_crowd  # noqa: E402
from reliability.spammers import SpammerRules  # noqa: E402
from reliability.votes import VoteTable  # noqa: E402

DATASETS = ("face", "dog", "web", "weather", "rte", "product")
# The paper's pipeline: the replays' final estimate and the full-votes run they are compared with
# must use the same method (the library's default became hierarchical Dawid-Skene; comparing a
# GLAD replay with an hds full run counted the methods' differences as the policy's).
METHOD = "glad"
N_GOLD_IMAGES = 400
PROBATION_ANSWERS = 30  # an annotator's first answers, where the probation gold checks go
PROBATION_GOLD = 15  # gold checks among an annotator's first PROBATION_ANSWERS answers
GOLD_EVERY = 20  # afterwards, one gold check per this many counted answers


def js_divergence(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``(n,)`` Jensen-Shannon divergence (natural log) between rows of ``p`` and ``q`` ``(n, K)``."""
    m = (p + q) / 2

    def kl(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ratio = np.divide(a, b, out=np.ones_like(a), where=(a > 0) & (b > 0))
        return np.sum(np.where(a > 0, a * np.log(ratio), 0.0), axis=1)

    return 0.5 * kl(p, m) + 0.5 * kl(q, m)


def agreement(reference: np.ndarray, other: np.ndarray, classes: tuple[str, ...]) -> dict[str, float]:
    """Partition agreement between two ``(n, K)`` distributions (see the module docstring)."""
    k = len(classes)
    ref, oth = partition_outcome(reference, classes), partition_outcome(other, classes)
    out: dict[str, float] = {}
    for name, member in (("basic", lambda c: (c >= 0) & (c < k)), ("compound", lambda c: c >= k)):
        in_ref, in_oth = member(ref), member(oth)
        same = in_ref & (ref == oth)
        out[f"{name}_agreement"] = round(float(same.sum() / max(in_ref.sum(), 1)), 4)
        out[f"{name}_agreement_symmetric"] = round(float(same.sum() / max((in_ref | in_oth).sum(), 1)), 4)
        out[f"{name}_images"] = int(in_ref.sum())
    out["mean_js"] = round(float(js_divergence(reference, other).mean()), 5)
    return out


def raf_shaped(
    n_images: int, n_annotators: int, seed: int, probation_gold: int = PROBATION_GOLD
) -> tuple[ReplayVotes, np.ndarray, Any, np.ndarray]:
    """The simulated crowd as replay input, its arrival order, the crowd, and each annotator's
    behaviour (``normal``, ``adversarial``, ``fast``, ``straight``, ``random``)."""
    crowd = simulate_crowd(
        n_images=n_images,
        n_annotators=n_annotators,
        votes_per_image=40,
        spammer_fraction=0.10,
        adversarial_fraction=0.02,
        compound_fraction=0.2,
        seed=seed,
    )
    rng = np.random.default_rng(seed + 1000)
    k = len(crowd.classes)
    behaviour = crowd.kind.astype(object).copy()
    spammers = rng.permutation(np.flatnonzero(crowd.kind == "spammer"))
    thirds = np.array_split(spammers, 3)
    behaviour[thirds[0]], behaviour[thirds[1]], behaviour[thirds[2]] = "fast", "straight", "random"
    behaviour = behaviour.astype(str)
    favourite = rng.integers(0, k, size=n_annotators)

    label = crowd.label.copy()
    straight = behaviour[crowd.annotator] == "straight"
    stuck = straight & (rng.random(label.shape[0]) < 0.95)
    label[stuck] = favourite[crowd.annotator[stuck]]

    # Arrival order of the counted votes: the replay's default (rounds of a per-image order).
    n_votes = label.shape[0]
    rank = np.empty(n_votes)
    by_image = np.lexsort((rng.random(n_votes), crowd.image))
    rank[by_image] = np.arange(n_votes) % 40
    key = rank + rng.random(n_votes)

    # Gold checks, slotted between each annotator's counted answers.
    gold_true = rng.integers(0, k, size=N_GOLD_IMAGES)
    gold_beta = np.e  # clear images
    g_ann, g_img, g_key = [], [], []
    order = np.lexsort((key, crowd.annotator))
    first = np.searchsorted(crowd.annotator[order], np.arange(n_annotators))
    last = np.searchsorted(crowd.annotator[order], np.arange(n_annotators), side="right")
    for a in range(n_annotators):  # a loop over annotators, building a few hundred checks each
        keys = key[order[first[a] : last[a]]]
        # probation: ``probation_gold`` checks spread evenly over the first PROBATION_ANSWERS answers
        # (0: no probation, one check per GOLD_EVERY answers from the start, as the platform's
        # flat ``gold_rate`` does today)
        counted_in_probation = PROBATION_ANSWERS - probation_gold if probation_gold else 0
        slots = [i * counted_in_probation // probation_gold for i in range(probation_gold)]
        slots = [s for s in slots if s < keys.shape[0]]
        slots += list(range(counted_in_probation + GOLD_EVERY, keys.shape[0], GOLD_EVERY))
        images = rng.choice(N_GOLD_IMAGES, size=min(len(slots), N_GOLD_IMAGES), replace=False)
        g_ann.extend([a] * images.shape[0])
        g_img.extend(images.tolist())
        g_key.extend((keys[slots[: images.shape[0]]] - 1e-9).tolist())
    g_ann_a, g_img_a = np.array(g_ann, dtype=np.int64), np.array(g_img, dtype=np.int64)
    alpha = np.nan_to_num(crowd.alpha[g_ann_a])
    right = rng.random(g_ann_a.shape[0]) < 1.0 / (1.0 + np.exp(-alpha * gold_beta))
    wrong = (gold_true[g_img_a] + rng.integers(1, k, size=g_ann_a.shape[0])) % k
    g_label = np.where(right, gold_true[g_img_a], wrong)
    g_beh = behaviour[g_ann_a]
    spam = np.isin(g_beh, ("fast", "random"))
    g_label[spam] = rng.integers(0, k, size=int(spam.sum()))
    st = g_beh == "straight"
    g_label[st] = np.where(rng.random(int(st.sum())) < 0.95, favourite[g_ann_a[st]], g_label[st])

    annotator = np.concatenate([crowd.annotator, g_ann_a])
    image = np.concatenate([crowd.image, n_images + g_img_a])
    labels = np.concatenate([label, g_label])
    table = VoteTable(
        annotator=annotator,
        image=image,
        label=labels,
        annotator_ids=np.arange(n_annotators),
        image_ids=np.arange(n_images + N_GOLD_IMAGES),
        classes=crowd.classes,
    )
    median = np.select([behaviour == "fast", behaviour == "straight"], [300.0, 1200.0], 2500.0)
    time_ms = median[annotator] * np.exp(rng.normal(0.0, 0.5, size=annotator.shape[0]))
    gold_label = np.concatenate([np.full(n_images, -1), gold_true]).astype(np.int64)
    arrival = np.argsort(np.concatenate([key, np.array(g_key)]), kind="stable")
    return ReplayVotes(table=table, time_ms=time_ms, gold_label=gold_label), arrival, crowd, behaviour


def spammer_figures(result: ReplayResult, behaviour: np.ndarray) -> dict[str, Any]:
    """Flag precision and recall, and how long each bad annotator lasted: ``answers`` count
    everything they answered before the flag (gold checks included), ``votes`` their counted
    votes only. ``flagged_within_30`` counts a bad annotator only if flagged within 30 answers
    (the stricter reading of "within 30 votes"); ``flagged_within_30_votes`` within 30 counted
    votes."""
    bad = np.isin(behaviour, ("fast", "straight", "random", "adversarial"))
    flagged = result.flagged_at >= 0
    out: dict[str, Any] = {
        "spammer_precision": round(float((flagged & bad).sum() / max(flagged.sum(), 1)), 4),
        "spammer_recall": round(float((flagged & bad).sum() / max(bad.sum(), 1)), 4),
        "flagged": int(flagged.sum()),
        "bad_annotators": int(bad.sum()),
    }
    caught = result.flagged_at[flagged & bad]
    out["answers_before_flag_median"] = float(np.median(caught)) if caught.shape[0] else None
    out["answers_before_flag_max"] = int(caught.max()) if caught.shape[0] else None
    out["flagged_within_30"] = round(float((flagged & (result.flagged_at <= 30) & bad).sum()) / max(bad.sum(), 1), 4)
    out["flagged_within_30_votes"] = round(
        float((flagged & (result.flagged_votes <= 30) & bad).sum()) / max(bad.sum(), 1), 4
    )
    for kind in ("fast", "straight", "random", "adversarial"):
        members = np.flatnonzero((behaviour == kind) & flagged)
        members = members[np.argsort(result.flagged_at[members], kind="stable")]
        out[f"{kind}_flagged"] = f"{members.shape[0]}/{int((behaviour == kind).sum())}"
        out[f"{kind}_answers_before_flag"] = result.flagged_at[members].tolist()
        out[f"{kind}_votes_before_flag"] = result.flagged_votes[members].tolist()
    honest = np.flatnonzero(flagged & ~bad)
    out["honest_flagged"] = [
        {"annotator": int(i), "behaviour": str(behaviour[i]), "answers": int(result.flagged_at[i])} for i in honest
    ]
    return out


def run_simulated(
    n_images: int, n_annotators: int, seed: int, confidence: float, samples: int, probation_gold: int = PROBATION_GOLD
) -> dict[str, Any]:
    votes, arrival, crowd, behaviour = raf_shaped(n_images, n_annotators, seed, probation_gold)
    regular = np.flatnonzero(votes.gold_label < 0)
    counted_votes = np.flatnonzero(~votes.is_gold_vote)
    t = votes.table
    full_table = VoteTable(
        annotator=t.annotator[counted_votes],
        image=t.image[counted_votes],
        label=t.label[counted_votes],
        annotator_ids=t.annotator_ids,
        image_ids=t.image_ids,
        classes=t.classes,
    )
    started = time.perf_counter()
    full = estimate(full_table, method=METHOD)
    out: dict[str, Any] = {
        "images": n_images,
        "annotators": n_annotators,
        "full_seconds": round(time.perf_counter() - started, 1),
    }
    out["full_gold_accuracy"] = round(crowd.label_accuracy(full.distribution[regular].argmax(axis=1)), 4)
    never = SpammerRules(min_answers=10**9)
    # The plain rule: confidence 0.95, flat Dirichlet(1) prior, the partition outcome alone.
    flat = AllocationPolicy(
        kind="adaptive", min_votes=10, max_votes=40, prior="flat", confidence=0.95, outcome="partition"
    )
    for name, policy, rules, weigh in (
        ("fixed", AllocationPolicy(kind="fixed", max_votes=40), None, True),
        # The plain rule: flat Dirichlet predictive on raw counts, no spammer control.
        ("plain_raw", flat, never, False),
        ("plain", flat, None, True),
        (
            "adaptive",
            AllocationPolicy(kind="adaptive", min_votes=10, max_votes=40, confidence=confidence, samples=samples),
            None,
            True,
        ),
    ):
        started = time.perf_counter()
        result = replay(votes, policy=policy, rules=rules, seed=seed, order=arrival, weigh=weigh, method=METHOD)
        g = result.estimate.distribution[regular]
        row: dict[str, Any] = {"saved_fraction": round(result.saved_fraction, 4)}
        row.update(agreement(full.distribution[regular], g, t.classes))
        row["truth_accuracy"] = round(crowd.label_accuracy(g.argmax(axis=1)), 4)
        # Votes spent per full-run outcome: ambiguous images must keep theirs.
        outcome = partition_outcome(full.distribution[regular], t.classes)
        used = result.votes_used[regular]
        k = len(t.classes)
        for kind, members in (("basic", outcome < k), ("compound", outcome >= k), ("neither", outcome < 0)):
            members = members & (outcome >= 0) if kind == "basic" else members
            row[f"mean_votes_{kind}"] = round(float(used[members].mean()), 2) if members.any() else None
        row.update(spammer_figures(result, behaviour))
        row["live_update_seconds_max"] = round(max(result.live_seconds, default=0.0), 3)
        row["seconds"] = round(time.perf_counter() - started, 1)
        out[name] = row
        print(f"# simulated {name}: {json.dumps(row)}", file=sys.stderr, flush=True)
    return out


def shared_dir() -> Path:
    return Path(os.environ.get("RAF_SHARED_DIR", REPO_ROOT.parent / "shared"))


def run_real(folder: Path, seeds: list[int], min_fraction: float = 0.5) -> dict[str, Any]:
    """``fixed`` against ``adaptive`` on one public set, replayed in several seeded orders (the
    first seed's figures at the top level). Per seed: gold images whose label differs between the
    two replays, split into those the adaptive replay gave fewer votes (``retired early``) and
    those with the same votes in both (``same votes``: the label moved with the re-estimated
    annotator weights alone)."""
    from reliability.replay_io import read_replay_votes

    with (folder / "labels.csv").open(newline="") as handle:
        k = max(int(row["label"]) for row in csv.DictReader(handle)) + 1
    votes = read_replay_votes(folder / "labels.csv", classes=k)
    t = votes.table
    index = {str(v): j for j, v in enumerate(t.image_ids)}
    with (folder / "gold.csv").open(newline="") as handle:
        pairs = [(index[r["task"]], int(r["label"])) for r in csv.DictReader(handle) if r["task"] in index]
    gold_img = np.array([p[0] for p in pairs])
    gold_lab = np.array([p[1] for p in pairs])
    per_image = np.bincount(t.image, minlength=t.n_images)
    max_votes = int(per_image.max())
    min_votes = max(1, int(np.ceil(min_fraction * max_votes - 1e-9)))
    full = estimate(t, method=METHOD)
    out: dict[str, Any] = {"max_votes": max_votes, "min_votes": min_votes}
    # The replays' label: the argmax of g (images.csv's ``label``), here as there.
    out["full_gold_accuracy"] = round(float((full.distribution.argmax(axis=1)[gold_img] == gold_lab).mean()), 4)
    runs = []
    for seed in seeds:
        row: dict[str, Any] = {"seed": seed}
        results = {}
        for kind in ("fixed", "adaptive"):
            policy = AllocationPolicy(kind=kind, min_votes=min_votes, max_votes=max_votes)
            results[kind] = result = replay(votes, policy=policy, seed=seed, method=METHOD)
            labels = result.estimate.distribution.argmax(axis=1)
            row[kind] = {
                "saved_fraction": round(result.saved_fraction, 4),
                "gold_accuracy": round(float((labels[gold_img] == gold_lab).mean()), 4),
                "gold_right": int((labels[gold_img] == gold_lab).sum()),
                "flagged": int((result.flagged_at >= 0).sum()),
                "basic_agreement": agreement(full.distribution, result.estimate.distribution, t.classes)[
                    "basic_agreement"
                ],
            }
        fixed, adaptive = results["fixed"], results["adaptive"]
        f_lab = fixed.estimate.distribution.argmax(axis=1)[gold_img]
        a_lab = adaptive.estimate.distribution.argmax(axis=1)[gold_img]
        fewer = (np.bincount(t.image[adaptive.counted], minlength=t.n_images) < fixed.votes_used)[gold_img]
        moved = f_lab != a_lab
        for name, members in (("retired_early", fewer), ("same_votes", ~fewer)):
            m = moved & members
            row[name] = {
                "labels_moved": int(m.sum()),
                "net_gold": int((a_lab[m] == gold_lab[m]).sum() - (f_lab[m] == gold_lab[m]).sum()),
            }
        row["gold_difference"] = row["adaptive"]["gold_right"] - row["fixed"]["gold_right"]
        runs.append(row)
    out["fixed"], out["adaptive"] = runs[0]["fixed"], runs[0]["adaptive"]
    out["gold_difference"] = runs[0]["gold_difference"]
    out["gold_not_below_fixed"] = runs[0]["gold_difference"] >= 0
    out["seeds"] = runs
    out["mean_gold_difference"] = round(float(np.mean([r["gold_difference"] for r in runs])), 2)
    out["mean_saved_fraction"] = round(float(np.mean([r["adaptive"]["saved_fraction"] for r in runs])), 4)
    return out


LODO_FRACTIONS = (0.5, 0.6, 0.7, 0.8, 0.9)


def run_lodo(seed: int, real_seeds: int) -> dict[str, Any]:
    """``min_votes`` for the public sets by leave-one-dataset-out: for each set, the fraction of
    ``max_votes`` (from :data:`LODO_FRACTIONS`) whose worst mean gold difference (adaptive minus
    fixed, gold images, over replay orders 1..``real_seeds``) on the *other* sets is largest,
    ties broken by their mean votes saved; then scored on the held-out set in the orders
    ``seed``, ``seed + 1``, ... (never used to choose)."""
    folders = {name: shared_dir() / "crowd-data" / name for name in DATASETS}
    folders = {name: folder for name, folder in folders.items() if folder.is_dir()}
    choose_seeds = list(range(1, real_seeds + 1))
    table: dict[tuple[str, float], tuple[float, float]] = {}
    for name, folder in folders.items():
        for fraction in LODO_FRACTIONS:
            got = run_real(folder, choose_seeds, fraction)
            table[(name, fraction)] = (got["mean_gold_difference"], got["mean_saved_fraction"])
            print(f"# lodo grid {name} {fraction}: {table[(name, fraction)]}", file=sys.stderr, flush=True)
    out: dict[str, Any] = {}
    for held in folders:
        others = [name for name in folders if name != held]

        def score(fraction: float, others: list[str] = others) -> tuple[float, float]:
            worst = min(table[(name, fraction)][0] for name in others)
            saved = float(np.mean([table[(name, fraction)][1] for name in others]))
            return worst, saved

        chosen = max(LODO_FRACTIONS, key=score)
        held_out = run_real(folders[held], list(range(seed, seed + real_seeds)), chosen)
        out[held] = {
            "min_fraction": chosen,
            "min_votes": held_out["min_votes"],
            "gold_difference": held_out["gold_difference"],
            "mean_gold_difference": held_out["mean_gold_difference"],
            "saved_fraction": held_out["adaptive"]["saved_fraction"],
            "fixed_saved_fraction": held_out["fixed"]["saved_fraction"],
        }
        print(f"# lodo {held}: {json.dumps(out[held])}", file=sys.stderr, flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=30_000)
    parser.add_argument("--annotators", type=int, default=315)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--confidence", type=float, default=AllocationPolicy.confidence)
    parser.add_argument("--samples", type=int, default=AllocationPolicy.samples)
    parser.add_argument("--skip-real", action="store_true")
    parser.add_argument(
        "--probation-gold",
        type=int,
        default=PROBATION_GOLD,
        help="gold checks among an annotator's first 30 answers (0: one per 20 from the start, the flat gold_rate)",
    )
    parser.add_argument("--real-seeds", type=int, default=5, help="replay orders per public set (seed, seed+1, ...)")
    parser.add_argument(
        "--min-fraction", type=float, default=0.5, help="public sets: min_votes = this share of max_votes, rounded up"
    )
    parser.add_argument("--lodo", action="store_true", help="only: choose --min-fraction per public set by LODO")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    if args.lodo:
        print(json.dumps({"lodo": run_lodo(args.seed, args.real_seeds)}))
        return
    sim = run_simulated(args.images, args.annotators, args.seed, args.confidence, args.samples, args.probation_gold)
    real: dict[str, Any] = {}
    if not args.skip_real:
        for name in DATASETS:
            folder = shared_dir() / "crowd-data" / name
            if folder.is_dir():
                seeds = list(range(args.seed, args.seed + args.real_seeds))
                real[name] = run_real(folder, seeds, args.min_fraction)
                print(f"# {name}: {json.dumps(real[name])}", file=sys.stderr, flush=True)
    adaptive = sim["adaptive"]
    print(
        json.dumps(
            {
                "saved_fraction": adaptive["saved_fraction"],
                "basic_agreement": adaptive["basic_agreement"],
                "compound_agreement": adaptive["compound_agreement"],
                "mean_js": adaptive["mean_js"],
                "spammer_precision": adaptive["spammer_precision"],
                "spammer_recall": adaptive["spammer_recall"],
                "simulated": sim,
                "real": real,
            }
        )
    )


if __name__ == "__main__":
    main()
