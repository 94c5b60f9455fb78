"""The error services raise when a business rule refuses a request (no web framework here).

The API turns it into its one error shape (:mod:`annotation.apis.errors`); pages show its
message; commands print it.
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """A business rule refused the request; ``code`` is stable, ``message`` is for people."""

    status_code = 400

    def __init__(self, message: str, *, code: str = "invalid", details: Any = None, status_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.details = details
        if status_code is not None:
            self.status_code = status_code
