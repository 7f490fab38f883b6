"""JSON files the processes of one run share through the run folder (see `reaper.py` for the folder)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def publish_json(path: Path, data: Any) -> None:
    """Write `path` whole or not at all: readers in other processes never see half a file."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_text(json.dumps(data))
    os.replace(partial, path)
