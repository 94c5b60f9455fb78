"""Celery tasks: load by id, call a service. Each keeps its own time limit."""

from __future__ import annotations
