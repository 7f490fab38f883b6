"""How to say where each service of a run was tested (live, local process, container image), for the reports.

"PASS (staging)" must say what was tested: an environment that names images but ran on the local
target says so ("image basb/search:1.0 not tested").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any


def target_label(facts: Mapping[str, Any]) -> str:
    """One line for tables: `containers basb/search:1.0 (id 0123456789ab)`, `local (stdio process)`."""
    target = str(facts.get("target", "?"))
    if target == "containers":
        digest, image_id = facts.get("digest"), facts.get("image_id")
        ident = f"digest {_short_id(digest)}" if digest else f"id {_short_id(image_id)}" if image_id else "not started"
        return f"containers {facts.get('image')} ({ident})"
    label = f"{target} ({facts['how']})" if facts.get("how") else target
    if facts.get("image_not_tested"):
        label += f"; image {facts['image_not_tested']} not tested"
    return label


def targets_line(targets: Mapping[str, Mapping[str, Any]]) -> str:
    """The terminal's one line: `tested on: 6 containers` or `...; 6 images named in the inventory not tested`."""
    kinds = Counter(str(facts.get("target")) for facts in targets.values())
    line = "tested on: " + ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
    untested = sum(1 for facts in targets.values() if facts.get("image_not_tested"))
    if untested:
        images = "image" if untested == 1 else "images"
        line += f"; {untested} {images} named in the inventory not tested (use --basb-target=containers)"
    return line


def _short_id(ident: Any) -> str:
    return str(ident).split(":", 1)[-1][:12]
