"""An Obsidian Markdown note as text: the generic editing both report notes are built on.

The daily DevOps log (`obsidian.py`) and the weekly summary (`weekly.py`) share this: a note split
into front matter and body, front-matter updates that keep a person's keys and comments, code
fences (a heading in a code block is just text), headings matched on their letters and digits,
where a section's own text ends, inserting a block with one blank line around it, note skeletons
from a template's headings, a lock that serialises writers of one note, and links Obsidian follows.
Nothing here knows the run regions, the run facts or either note's template.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


# --- the note as text: front matter, fences, headings ---------------------------------------------


@dataclass
class Note:
    """A Markdown note split into front-matter lines (without the `---` lines) and body lines."""

    front: list[str] | None
    body: list[str]

    @classmethod
    def parse(cls, text: str) -> Note:
        lines = text.splitlines()
        if lines and lines[0].strip() == "---":
            for i in range(1, len(lines)):
                if lines[i].strip() in ("---", "..."):
                    return cls(front=lines[1:i], body=lines[i + 1 :])
        return cls(front=None, body=lines)

    def render(self) -> str:
        head = ["---", *(self.front or []), "---"] if self.front is not None else []
        text = "\n".join([*head, *self.body]).rstrip("\n")
        return text + "\n"

    def front_matter(self) -> dict[str, Any] | None:
        """The parsed front matter, or None when missing or not a YAML mapping."""
        if self.front is None:
            return None
        try:
            data = yaml.safe_load("\n".join(self.front))
        except yaml.YAMLError:
            return None
        if data is None:
            return {}
        return data if isinstance(data, dict) else None


def unfenced(lines: Sequence[str]) -> Iterator[str]:
    """The lines outside fenced code blocks (a heading or marker in a code block is just text)."""
    for index in unfenced_indexes(lines):
        yield lines[index]


def unfenced_indexes(lines: Sequence[str]) -> Iterator[int]:
    fence: str | None = None
    for index, line in enumerate(lines):
        match = _FENCE.match(line)
        if fence is None:
            if match:
                fence = match.group(1)
                continue
            yield index
        elif (
            match
            and match.group(1)[0] == fence[0]
            and len(match.group(1)) >= len(fence)
            and not line[match.end() :].strip()
        ):
            fence = None  # a closing fence: same character, at least as long, no info string


def heading_key(text: str) -> str:
    """Headings match on their letters and digits only: "🎯 Today's DevOps Goals" = "Todays DevOps Goals"."""
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def headings(lines: Sequence[str]) -> list[tuple[int, int, str]]:
    """(line index, level, key) of every heading outside code fences."""
    found = []
    for index in unfenced_indexes(lines):
        match = _HEADING.match(lines[index])
        if match:
            found.append((index, len(match.group(1)), heading_key(match.group(2))))
    return found


def _split_heading(heading: str) -> tuple[int, str]:
    hashes, _, text = heading.partition(" ")
    return len(hashes), heading_key(text)


def section_end(lines: list[str], path: tuple[str, ...]) -> int:
    """Where new content for the section at `path` goes: the end of the section's own text.

    That is just before the next heading of any level (a person's sub-heading keeps its text).
    A heading a person deleted is added again at the end of its parent, so nothing is lost.
    """
    lo, hi = 0, len(lines)
    for heading in path:
        level, key = _split_heading(heading)
        heads = [h for h in headings(lines) if lo <= h[0] < hi]
        own = next((h for h in heads if h[1] == level and h[2] == key), None)
        if own is None:
            at = _trim_back(lines, hi, lo)
            lines[at:at] = ["", heading]
            own_index = at + 1
            hi += 2
        else:
            own_index = own[0]
        # The section ends at the next heading of the same or a higher level, within the parent.
        nxt = [h[0] for h in headings(lines) if own_index < h[0] < hi and h[1] <= level]
        lo, hi = own_index, min(nxt, default=hi)
    subheads = [h[0] for h in headings(lines) if lo < h[0] < hi]
    return _trim_back(lines, min(subheads, default=hi), lo + 1)


def _trim_back(lines: Sequence[str], at: int, floor: int) -> int:
    while at > floor and not lines[at - 1].strip():
        at -= 1
    return at


def insert_block(lines: list[str], at: int, block: Sequence[str]) -> None:
    """Insert `block` at `at` with exactly one blank line around it."""
    before = [""] if at > 0 and lines[at - 1].strip() else []
    after = [""] if at < len(lines) and lines[at].strip() else []
    lines[at:at] = [*before, *block, *after]


def skeleton(title: str, sections: Sequence[tuple[str, tuple[str, ...]]]) -> list[str]:
    """A note of `title` and the sections' headings (each once, in order) with nothing under them."""
    lines = [title]
    seen: set[str] = set()
    for _key, heading_path in sections:
        for heading in heading_path:
            if heading not in seen:
                seen.add(heading)
                lines += ["", heading]
    return lines


# --- front matter ----------------------------------------------------------------------------------


def update_front_matter(note: Note, values: Mapping[str, Any]) -> None:
    """Set our keys in the front matter and keep everything else a person wrote there.

    Edits are line based (a key's line and its continuation lines are replaced), so comments and
    other keys stay as written. If the result would not be valid YAML, a fresh front matter is
    written and the old one is kept verbatim in the body.
    """
    if note.front is None:
        note.front = _dump_lines(values)
        return
    original = list(note.front)
    lines = list(original)
    for key, value in values.items():
        rendered = _dump_lines({key: value})
        span = _key_span(lines, key)
        if span is None:
            lines.extend(rendered)
        else:
            lines[span[0] : span[1]] = rendered
    note.front = lines
    parsed = note.front_matter()
    if parsed is None or any(parsed.get(k) != v for k, v in values.items()):
        note.front = _dump_lines(values)
        kept = ["", "> [!warning] The front matter below could not be updated and was replaced; kept verbatim:", ""]
        # Right under the title (when there is one), where the person will see it.
        at = next((i + 1 for i, level, _k in headings(note.body) if level == 1), 0)
        note.body[at:at] = [*kept, *_code_block(["---", *original, "---"], "yaml"), ""]


def _dump_lines(values: Mapping[str, Any]) -> list[str]:
    """One `key: value` block per key; lists of scalars in flow style (`tags: [devops, basb]`)."""
    lines: list[str] = []
    for key, value in values.items():
        flow = None if isinstance(value, list) else False
        text = yaml.safe_dump({key: value}, sort_keys=False, allow_unicode=True, default_flow_style=flow, width=10**6)
        lines += text.rstrip("\n").split("\n")
    return lines


def _key_span(lines: Sequence[str], key: str) -> tuple[int, int] | None:
    pattern = re.compile(rf"^{re.escape(key)}\s*:")
    for start, line in enumerate(lines):
        if pattern.match(line):
            end = start + 1
            # Continuation: indented lines and a block list written flush left ("- item").
            while end < len(lines) and (lines[end][:1] in (" ", "\t") or lines[end].startswith("-")):
                end += 1
            return start, end
    return None


def _code_block(lines: Sequence[str], info: str = "") -> list[str]:
    longest = max((len(m) for line in lines for m in re.findall(r"`{3,}", line)), default=2)
    fence = "`" * (longest + 1)
    return [f"{fence}{info}", *lines, fence]


# --- writing one note at a time --------------------------------------------------------------------


@contextlib.contextmanager
def file_lock(path: Path, timeout_s: float = 10.0, stale_s: float = 120.0) -> Iterator[None]:
    """Serialise writers of one note (two gate runs finishing together must not lose a run).

    The lock file names its owner (`pid host`). A lock whose owner is gone (a killed run on this
    host), older than `stale_s`, or still held after `timeout_s` is taken over with a warning on
    stderr: a run's entry is never dropped for a lock nobody will release.
    """
    lock = path.with_name(f".{path.name}.lock")
    owner = f"{os.getpid()} {socket.gethostname()}"
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            break
        except FileExistsError:
            why = _stale(lock, stale_s, timed_out=time.monotonic() > deadline)
            if why is not None:
                print(f"pytest-basb: took over the lock {lock} ({why}); writing the entry", file=sys.stderr)
                lock.unlink(missing_ok=True)
                continue
            time.sleep(0.05)
    try:
        os.write(fd, owner.encode())
        os.close(fd)
        yield
    finally:
        lock.unlink(missing_ok=True)


def _stale(lock: Path, stale_s: float, *, timed_out: bool) -> str | None:
    """Why nobody will release this lock, or None while its owner may still be writing."""
    try:
        age = time.time() - lock.stat().st_mtime
        pid_text, _, host = lock.read_text().partition(" ")
    except (FileNotFoundError, UnicodeDecodeError):
        return "gone" if not lock.exists() else None
    if host == socket.gethostname() and pid_text.isdigit() and not _alive(int(pid_text)):
        return f"its writer, process {pid_text}, is gone"
    if age > stale_s:
        return f"held for {age:.0f} s"
    if timed_out:
        return "still held after the wait; its writer is stuck"
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --- links -----------------------------------------------------------------------------------------

_WIKILINK_UNSAFE = re.compile(r"[\[\]|#^\\]")
_LABEL_UNSAFE = re.compile(r"([\\`*_\[\]#<>$%=|~^])")


def note_link(path: Path, vault: Path, label: str) -> str:
    """A link Obsidian follows: a wikilink inside the vault, else a `file://` Markdown link."""
    target = path.resolve()
    try:
        rel = target.relative_to(vault.resolve()).as_posix()
    except ValueError:
        rel = None
    if rel is not None and not _WIKILINK_UNSAFE.search(rel + label):
        rel = rel[:-3] if rel.endswith(".md") else rel
        return f"[[{rel}|{label}]]"
    text = _LABEL_UNSAFE.sub(r"\\\1", label)
    return f"[{text}](<{target.as_uri()}>)"
