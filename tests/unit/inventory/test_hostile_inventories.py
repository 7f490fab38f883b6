"""Every malformed inventory is a clear InventoryError (exit 4): never a traceback, never a hang."""

from __future__ import annotations

import os
import string
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_basb.inventory.load import InventoryError, load_environment
from tests.helpers import REPO

GOOD = "version: 1\nenvironments:\n  t:\n    services:\n      a: {transport: stdio, command: [python, x.py]}\n"


LAUGHS = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 10 if prev else ['x'] * 10)}]\n"
    for prev, name in zip(["", "a", "b", "c", "d", "e", "f"], "abcdefg", strict=True)
)

DEEP = "[" * 800 + "]" * 800  # a value nested 800 levels (copying it would recurse)


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def folder(tmp_path: Path) -> Path:
    (tmp_path / "inv.yaml").mkdir()
    return tmp_path / "inv.yaml"


def symlink_loop(tmp_path: Path) -> Path:
    os.symlink(tmp_path / "b.yaml", tmp_path / "a.yaml")
    os.symlink(tmp_path / "a.yaml", tmp_path / "b.yaml")
    return tmp_path / "a.yaml"


def fifo(tmp_path: Path) -> Path:
    os.mkfifo(tmp_path / "inv.yaml")
    return tmp_path / "inv.yaml"


CASES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "not-utf8": (lambda p: write(p, "i.yaml", b"version: 1\n\xff\xfe\n"), "line 2: not UTF-8"),
    "folder": (folder, "is a folder"),
    "symlink-loop": (symlink_loop, "symbolic links"),
    "dev-zero": (lambda _p: Path("/dev/zero"), "not a regular file"),
    "fifo": (fifo, "not a regular file"),
    "too-large": (lambda p: write(p, "i.yaml", GOOD + "#" * (1024 * 1024)), "larger than 1024 KiB"),
    "billion-laughs": (lambda p: write(p, "i.yaml", LAUGHS), "expands to more than"),
    "alias-recursion": (lambda p: write(p, "i.yaml", "a: &a [*a]\n"), "refers to itself"),
    "deep-nesting": (lambda p: write(p, "i.yaml", "a: " + "[" * 3000 + "]" * 3000 + "\n"), "YAML syntax error"),
    "deep-arguments": (
        lambda p: write(
            p,
            "i.yaml",
            GOOD.replace("x.py]", "x.py], smoke: [{tool: t, arguments: {a: " + "[" * 800 + "]" * 800 + "}}]"),
        ),
        "nested deeper than 64 levels",
    ),
    "nan": (lambda p: write(p, "i.yaml", GOOD.replace("x.py]", "x.py], timeout_s: .nan")), "services.a.timeout_s"),
    "infinity": (lambda p: write(p, "i.yaml", GOOD.replace("x.py]", "x.py], timeout_s: .inf")), "is not a number"),
    "integer-key": (lambda p: write(p, "i.yaml", GOOD + "    1: 2\n"), "key 1 is not text"),
    "duplicate-key": (lambda p: write(p, "i.yaml", GOOD + "environments: {}\n"), "`environments` appears twice"),
    "malformed-var": (lambda p: write(p, "i.yaml", GOOD.replace("x.py]", "x.py], env: {A: '${OOPS'}")), "malformed"),
    "not-a-mapping": (lambda p: write(p, "i.yaml", "- 1\n- 2\n"), "i.yaml"),
    "empty": (lambda p: write(p, "i.yaml", ""), "i.yaml"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_malformed_inventory_is_an_inventory_error_naming_the_file(tmp_path: Path, case: str) -> None:
    make, says = CASES[case]
    path = make(tmp_path)
    with pytest.raises(InventoryError) as caught:
        load_environment(path, "t", environ={})
    assert str(path) in str(caught.value)
    assert says in str(caught.value)


def test_anchors_and_merge_keys_still_work(tmp_path: Path) -> None:
    text = (
        "version: 1\nenvironments:\n  t:\n    services:\n"
        "      a: &svc {transport: stdio, command: [python, x.py], timeout_s: 7}\n"
        "      b: {<<: *svc, timeout_s: 9}\n"
    )
    environment = load_environment(write(tmp_path, "i.yaml", text), "t", environ={})
    assert [(s.id, s.timeout_s) for s in environment.services] == [("a", 7), ("b", 9)]


YAML_TEXT = st.text(string.printable + "\u00e9\u2028\ufeff", max_size=300)


SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(string.printable, max_size=10)


VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(SCALARS, inner, max_size=3),
    max_leaves=8,
)


KEYS = st.sampled_from(
    [
        "version",
        "defaults",
        "environments",
        "t",
        "services",
        "a",
        "transport",
        "command",
        "env",
        "timeout_s",
        "url",
        "smoke",
        "expect",
        "extends",
        "vault",
        "launch",
        "headers",
        "container",
        "tools",
    ]
)


def _plant(document: Any, path: list[str], value: Any) -> None:
    """Set `value` at the deepest dict reachable along `path` (keys that do not exist are added)."""
    node = document
    for key in path[:-1]:
        child = node.get(key) if isinstance(node, dict) else None
        if not isinstance(child, dict):
            break
        node = child
    if isinstance(node, dict):
        node[path[-1] if path else "x"] = value


@st.composite
def mutated_inventory(draw: st.DrawFn) -> str:
    """Free text, the good inventory with a slice replaced, or with a generated value planted in it
    (non-string keys, NaN, nested lists and maps where settings belong)."""
    kind = draw(st.sampled_from(["text", "slice", "plant"]))
    if kind == "text":
        return draw(YAML_TEXT)
    if kind == "slice":
        start = draw(st.integers(0, len(GOOD)))
        end = draw(st.integers(start, len(GOOD)))
        return GOOD[:start] + draw(YAML_TEXT) + GOOD[end:]
    document = yaml.safe_load(GOOD)
    _plant(document, draw(st.lists(KEYS, min_size=1, max_size=5)), draw(VALUES))
    return yaml.dump(document, allow_unicode=True)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=mutated_inventory())
def test_generated_inventories_load_or_fail_with_an_inventory_error(text: str, tmp_path: Path) -> None:
    path = tmp_path / "generated.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_environment(path, "t", environ={"HOME": "/root"})
    except InventoryError as exc:
        message = str(exc)
    else:
        return
    assert str(path) in message


def test_the_strict_loader_agrees_with_yaml_on_ordinary_documents(tmp_path: Path) -> None:
    from pytest_basb.inventory.safe_yaml import load

    inventory = REPO / "basb-inventory.yaml"
    source = inventory.read_text()
    assert load(inventory, source) == yaml.safe_load(source)
