"""Entry point of ``python -m reliability``."""

from __future__ import annotations

import sys

from reliability.cli import main

if __name__ == "__main__":
    sys.exit(main())
