"""RAF's data model. Postgres is the source of truth; invariants are database constraints."""

from annotation.models.annotator import AnnotatorProfile, Qualification
from annotation.models.assignment import Assignment
from annotation.models.export import DatasetExport
from annotation.models.face import Face, FaceRevision
from annotation.models.image import Image, ImageReport, ImageStatus
from annotation.models.job import Job, JobStatus
from annotation.models.live import AnnotatorFlag, FlagStatus, LiveReliability
from annotation.models.project import Project
from annotation.models.reliability import AnnotatorReliability, ImageReliability, ReliabilityRun
from annotation.models.study import Study, StudyEnrolment, StudyMarket, StudyParticipantLink
from annotation.models.training import TrainingRun
from annotation.models.vote import UndoneVote, Vote

__all__ = [
    "AnnotatorFlag",
    "AnnotatorProfile",
    "AnnotatorReliability",
    "Assignment",
    "DatasetExport",
    "Face",
    "FaceRevision",
    "FlagStatus",
    "Image",
    "ImageReliability",
    "ImageReport",
    "ImageStatus",
    "Job",
    "JobStatus",
    "LiveReliability",
    "Project",
    "Qualification",
    "ReliabilityRun",
    "Study",
    "StudyEnrolment",
    "StudyMarket",
    "StudyParticipantLink",
    "TrainingRun",
    "UndoneVote",
    "Vote",
]
