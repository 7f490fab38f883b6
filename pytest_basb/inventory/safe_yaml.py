"""Reading an inventory file that may be hostile: bounded in size and time, strict YAML.

Whatever the file is (a folder, a FIFO, /dev/zero, a symlink loop, not UTF-8, a billion-laughs
document, a recursive alias, duplicate or non-string keys, NaN), the reader answers with a
`ValueError` whose message names the file, the key path where it can, and the fix; it never hangs
and never ends in a traceback.
"""

from __future__ import annotations

import math
import os
import stat
from pathlib import Path
from typing import Any

MAX_BYTES = 1024 * 1024  # an inventory of thousands of services is a few hundred KiB
MAX_NODES = 200_000  # values after aliases are expanded: a billion-laughs document stops here
MAX_DEPTH = 64  # levels of nesting; an inventory has about ten, and copying a deeper one recurses


class UnsafeInventory(ValueError):
    """The file cannot be an inventory; the message says why and what to do."""


def read_text(path: Path) -> str:
    """The file's text: a regular file of at most MAX_BYTES, in UTF-8."""
    try:
        info = path.stat()  # before opening: opening a FIFO would wait for a writer
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise UnsafeInventory(
            f"{path}: cannot read the inventory ({exc.strerror}); point --basb-inventory at a file"
        ) from None
    if not stat.S_ISREG(info.st_mode):
        kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise UnsafeInventory(f"{path}: is {kind}; point --basb-inventory at the inventory YAML file")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise UnsafeInventory(f"{path}: cannot read the inventory ({exc.strerror})") from None
    if len(data) > MAX_BYTES:
        raise UnsafeInventory(f"{path}: larger than {MAX_BYTES // 1024} KiB; is this the inventory file?")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UnsafeInventory(f"{path}: line {line}: not UTF-8 (byte {exc.start}); save the file as UTF-8") from None


def load(path: Path, text: str) -> Any:
    """Parse `text` with a safe loader that refuses duplicate and non-string keys, then check the
    expanded document: no more than MAX_NODES values, no recursion, finite numbers only."""
    import yaml

    base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser when present

    class StrictLoader(base):  # type: ignore[misc]
        def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
            if isinstance(node, yaml.MappingNode):
                seen: set[Any] = set()
                for key_node, _ in node.value:  # the keys written here; `<<` merges may be overridden
                    if key_node.tag == "tag:yaml.org,2002:merge":
                        continue
                    key = self.construct_object(key_node, deep=True)
                    line = key_node.start_mark.line + 1
                    if not isinstance(key, str):
                        raise UnsafeInventory(f'{path}: line {line}: key {key!r} is not text; quote it ("{key}")')
                    if key in seen:
                        raise UnsafeInventory(f"{path}: line {line}: key `{key}` appears twice; keep one")
                    seen.add(key)
            return dict(super().construct_mapping(node, deep=deep))

    try:
        document = yaml.load(text, Loader=StrictLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}:" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise UnsafeInventory(f"{path}:{where} YAML syntax error: {problem}. Fix the YAML there.") from None
    except RecursionError:
        raise UnsafeInventory(f"{path}: nested too deeply; an inventory is a few levels of keys") from None
    _check_tree(path, document)
    return document


def _check_tree(path: Path, document: Any) -> None:
    """Walk the expanded document once, iteratively (a deep document cannot overflow the stack)."""
    count = 0
    stack: list[tuple[Any, str, frozenset[int]]] = [(document, "", frozenset())]
    while stack:
        value, key, ancestors = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise UnsafeInventory(
                f"{path}: expands to more than {MAX_NODES} values (aliases that repeat aliases?); "
                "write the inventory without nested anchors"
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise UnsafeInventory(f"{path}: {key or '(top level)'}: {value} is not a number a setting can take")
        if isinstance(value, dict | list):
            if len(ancestors) >= MAX_DEPTH:
                raise UnsafeInventory(
                    f"{path}: {key or '(top level)'}: nested deeper than {MAX_DEPTH} levels; flatten the value"
                )
            if id(value) in ancestors:
                raise UnsafeInventory(f"{path}: {key or '(top level)'}: an alias refers to itself; remove the loop")
            inner = ancestors | {id(value)}
            items = value.items() if isinstance(value, dict) else enumerate(value)
            stack.extend((child, f"{key}.{name}" if key else str(name), inner) for name, child in items)
