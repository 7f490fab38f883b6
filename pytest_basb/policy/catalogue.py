"""The check ids the shipped suites report under, read from the suites themselves.

The suites' `@pytest.mark.basb_check(...)` markers are the one source of truth: this module reads
them (with `ast`, never importing the suites) instead of keeping a second list that could drift.
A marker may name a module constant (`CHECK = "basb.code.flow"`, `basb_check(CHECK)`).
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ast

_PACKAGE = Path(__file__).resolve().parent.parent  # pytest_basb/
GLOB_CHARACTERS = frozenset("*?[")


def shipped_suites_dir() -> Path | None:
    """The shipped suites: inside the installed package (a wheel), else the checkout's `suites/`."""
    return next((path for path in (_PACKAGE / "suites", _PACKAGE.parent / "suites") if path.is_dir()), None)


@cache
def shipped_check_ids(suites: Path | None = None) -> frozenset[str]:
    """Every check id a `basb_check` marker under `suites` (default: the shipped suites) names."""
    import ast  # only when a policy or waiver names checks: loading the plugin stays cheap

    folder = suites if suites is not None else shipped_suites_dir()
    if folder is None:
        return frozenset()
    ids: set[str] = set()
    for module in sorted(folder.rglob("*.py")):
        ids.update(_marker_ids(ast.parse(module.read_text("utf-8"), filename=str(module))))
    return frozenset(ids)


def _marker_ids(tree: ast.Module) -> Iterable[str]:
    import ast

    constants = {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and _is_marker(node.func) and node.args):
            continue
        argument = node.args[0]
        if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
            yield argument.value
        elif isinstance(argument, ast.Name) and argument.id in constants:
            yield constants[argument.id]


def _is_marker(func: ast.expr) -> bool:
    """`pytest.mark.basb_check` (or `mark.basb_check`)."""
    import ast

    return isinstance(func, ast.Attribute) and func.attr == "basb_check"


def is_glob(pattern: str) -> bool:
    return any(character in GLOB_CHARACTERS for character in pattern)


def matches(pattern: str, check_id: str) -> bool:
    """Shell-style: `*` any run of characters (dots included), `?` one, `[...]` a class."""
    return fnmatchcase(check_id, pattern)


def unknown_pattern_message(pattern: str, known: Iterable[str]) -> str | None:
    """None when `pattern` names at least one known check; else why not, with a did-you-mean."""
    import difflib

    known = sorted(known)
    if any(matches(pattern, check_id) for check_id in known):
        return None
    # A glob is most likely a suite with a typo (`secuirty.*`); an id, a check id with one.
    suites = sorted({check_id.split(".", 1)[0] + ".*" for check_id in known})
    choices = [*suites, *known] if is_glob(pattern) else [*known, *suites]
    close = difflib.get_close_matches(pattern, choices, n=1, cutoff=0.6)
    hint = f"; did you mean `{close[0]}`?" if close else ""
    what = "matches no known check id" if is_glob(pattern) else "is not a known check id"
    return f"`{pattern}` {what}{hint}"
