"""Reading Obsidian notes the way the BASB role suites need: front matter apart from the body."""

from __future__ import annotations

import re
from typing import Any

# A note's YAML front matter: `---` on line 1, then the block, then `---`.
FRONT_MATTER = re.compile(r"\A---\r?\n(.*?)\r?\n---\r?\n", re.DOTALL)


def split_note(text: str) -> tuple[dict[str, Any], str]:
    """(front matter as a dict, body); an absent or unreadable block reads as {} and the whole text."""
    import yaml

    match = FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        meta = None
    return (meta if isinstance(meta, dict) else {}), text[match.end() :]
