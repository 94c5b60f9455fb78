from __future__ import annotations

from django.conf import settings
from django.db import models


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class Job(models.Model):
    """Every background task, as users see it: kind, status, progress 0..1, result or error."""

    ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)

    kind = models.CharField(max_length=32)
    project = models.ForeignKey(
        "annotation.Project", null=True, blank=True, on_delete=models.CASCADE, related_name="jobs"
    )
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress = models.FloatField(default=0.0)
    message = models.CharField(max_length=500, blank=True)
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    cancel_requested = models.BooleanField(default=False)
    # How to send the job again (annotation.services.jobs.jobs_recover_stale): the task's name,
    # its arguments after the job id, and its queue.
    task_name = models.CharField(max_length=200, blank=True)
    task_args = models.JSONField(default=list, blank=True)
    queue = models.CharField(max_length=50, blank=True)
    # The lease: the worker process running the job ("host:pid:token") and its last heartbeat.
    # A running job whose heartbeat is older than settings.RAF_JOB_LEASE_S has lost its worker.
    lease_owner = models.CharField(max_length=200, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(progress__gte=0) & models.Q(progress__lte=1), name="job_progress_0_1"
            ),
            # A running job always has a lease; no other job has one.
            models.CheckConstraint(
                condition=(
                    models.Q(status="running") & ~models.Q(lease_owner="") & models.Q(heartbeat_at__isnull=False)
                )
                | (~models.Q(status="running") & models.Q(lease_owner="")),
                name="job_lease_iff_running",
            ),
        ]
        indexes = [
            models.Index(fields=["project", "kind", "status"], name="job_project_kind_idx"),
            models.Index(
                fields=["heartbeat_at"], name="job_running_heartbeat_idx", condition=models.Q(status="running")
            ),
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} job {self.pk} ({self.status})"
