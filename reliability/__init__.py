"""Label reliability for crowd votes: the paper's EM estimator, distributions and subsets.

A pure numpy/scipy library with its own CLI (``python -m reliability``); it never imports
Django, so researchers can use it on their own vote files.
"""

from reliability.dawid_skene import DawidSkene, OneCoin
from reliability.filtering import FilterRule
from reliability.glad import GLAD
from reliability.mace import MACE
from reliability.majority import MajorityVote
from reliability.pipeline import ReliabilityEstimate, estimate
from reliability.result import ConvergenceWarning, EstimateResult
from reliability.simulation import SimulatedCrowd, simulate_crowd
from reliability.subsets import Partition, partition
from reliability.votes import VoteTable, VoteTableError

__all__ = [
    "GLAD",
    "MACE",
    "ConvergenceWarning",
    "DawidSkene",
    "EstimateResult",
    "FilterRule",
    "MajorityVote",
    "OneCoin",
    "Partition",
    "ReliabilityEstimate",
    "SimulatedCrowd",
    "VoteTable",
    "VoteTableError",
    "estimate",
    "partition",
    "simulate_crowd",
]
