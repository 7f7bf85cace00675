"""The bench scripts as modules for the tests. They import each other by file name, as scripts run
from bench/ do, so bench/ goes on the path first."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).parents[1] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import check  # noqa: E402
import soak  # noqa: E402

__all__ = ["BENCH", "check", "soak"]
