"""``python -m reliability estimate`` end to end at RAF scale against the fit alone.

Writes a simulated RAF-sized crowd (30,000 images x 40 votes from 315 annotators = 1.2 M votes,
class names as labels) to a CSV once (not timed), then, in interleaved rounds:

- ``cli``: the wall time of the whole command in a fresh process (interpreter start, imports,
  reading the CSV, estimating, writing images.csv/annotators.csv/summary.json);
- ``fit``: one fit of the default estimator on the same votes, in this process;
- ``estimate``: the CLI's own ``estimate()`` time (fit, filtering, refit, g, agreement), from
  its summary.json, with its ``read_seconds`` and ``write_seconds``.

Target (issue 13): the whole command takes at most 2x the fit. Medians over the rounds; last
line: one JSON object. Besides wall seconds, ``cli_cpu_seconds`` (the child's user + system CPU)
and ``fit_cpu_seconds`` (this process's CPU during the fit) are reported: on a shared machine the
wall times swing with other jobs' load, CPU seconds much less.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from reliability.pipeline import DEFAULT_METHOD, make_estimator  # noqa: E402
from reliability.vote_files import read_votes_csv  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--method", default=DEFAULT_METHOD)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        command = [sys.executable, "-m", "reliability"]
        simulate = ["simulate", "--images", "30000", "--annotators", "315", "--votes-per-image", "40"]
        subprocess.run(
            [*command, *simulate, "--seed", str(args.seed), "--out", str(folder / "sim")],
            cwd=REPO_ROOT,
            check=True,
            capture_output=True,
        )
        votes = folder / "sim" / "votes.csv"
        table = read_votes_csv(votes)
        cli, fit, summaries, cli_cpu, fit_cpu = [], [], [], [], []
        for _ in range(args.rounds):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            subprocess.run(
                [*command, "estimate", str(votes), "--out", str(folder / "out"), "--method", args.method],
                cwd=REPO_ROOT,
                check=True,
                capture_output=True,
            )
            cli.append(time.perf_counter() - started)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cli_cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
            summaries.append(json.loads((folder / "out" / "summary.json").read_text()))
            started, started_cpu = time.perf_counter(), time.process_time()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = make_estimator(args.method).fit(table)
            fit.append(time.perf_counter() - started)
            fit_cpu.append(time.process_time() - started_cpu)
    median = statistics.median
    print(
        json.dumps(
            {
                "method": args.method,
                "votes": table.n_votes,
                "rounds": args.rounds,
                "cli_seconds": round(median(cli), 3),
                "fit_seconds": round(median(fit), 3),
                "estimate_seconds": round(median(s["seconds"] for s in summaries), 3),
                "read_seconds": round(median(s["read_seconds"] for s in summaries), 3),
                "write_seconds": round(median(s["write_seconds"] for s in summaries), 3),
                "cli_over_fit": round(median(cli) / median(fit), 2),
                "cli_over_estimate": round(median(cli) / median(s["seconds"] for s in summaries), 2),
                "cli_cpu_seconds": round(median(cli_cpu), 3),
                "fit_cpu_seconds": round(median(fit_cpu), 3),
                "cli_cpu_over_fit_cpu": round(median(cli_cpu) / median(fit_cpu), 2),
                "fit_iterations": model.n_iter_,
                "cli_rounds": [round(c, 3) for c in cli],
                "fit_rounds": [round(f, 3) for f in fit],
                "load_average_1m": round(os.getloadavg()[0], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
