"""A per-install secret key, generated on first run outside production."""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path


def install_secret_key(path: Path) -> str:
    """The key stored at ``path``, created (``secrets.token_urlsafe(50)``, mode 0600) when missing.

    Concurrent first starts agree: the key is written to a temporary file and linked into
    place, which fails if another process got there first; that process's key is then read."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".secret_key.")  # mode 0600
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50) + "\n")
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
    finally:
        os.unlink(temporary)
    return path.read_text().strip()
