"""The package version, in one place (the wheel metadata and the reports read it)."""

from __future__ import annotations

__version__ = "0.1.0"
