"""Label reliability for crowd votes: the paper's EM estimator, distributions and subsets.

A pure numpy/scipy library with its own CLI (``python -m reliability``); it never imports
Django, so researchers can use it on their own vote files.
"""

from importlib import import_module
from typing import Any

# Lazy: ``reliability.classes`` is imported by the platform's models, which should not pay for
# scipy at start-up.
_EXPORTS = {
    "GLAD": "reliability.glad",
    "MACE": "reliability.mace",
    "ConvergenceWarning": "reliability.result",
    "DawidSkene": "reliability.dawid_skene",
    "EstimateResult": "reliability.result",
    "FilterRule": "reliability.filtering",
    "MajorityVote": "reliability.majority",
    "OneCoin": "reliability.dawid_skene",
    "Partition": "reliability.subsets",
    "ReliabilityEstimate": "reliability.pipeline",
    "SimulatedCrowd": "reliability.simulation",
    "VoteTable": "reliability.votes",
    "VoteTableError": "reliability.votes",
    "estimate": "reliability.pipeline",
    "partition": "reliability.subsets",
    "simulate_crowd": "reliability.simulation",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'reliability' has no attribute {name!r}")
