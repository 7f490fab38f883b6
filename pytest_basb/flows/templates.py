"""Templates in flow steps: `{{ uid }}`, `{{ run_id }}`, `{{ steps.<id>.<saved> }}`.

Rendered with Jinja2's sandbox (no attribute access to Python internals) and strict about
undefined names. A string that is one expression and nothing else (`"{{ steps.count.n }}"`) keeps
the value's type, so a saved number or list can be passed on as it is. Jinja2 is imported only
where a template is read or rendered.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jinja2.nodes import Node
    from jinja2.sandbox import SandboxedEnvironment

NAMES = ("uid", "run_id", "steps")  # what a template may name
_MARKUP = ("{{", "{%", "{#")
_ONE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\{\{|\}\}).)*)\}\}\s*$", re.DOTALL)


class TemplateProblem(ValueError):
    """A template that cannot be read, or names something it may not (the message says which)."""


class RenderProblem(ValueError):
    """A template that cannot be rendered now, e.g. it uses a value an earlier step did not save."""


@dataclass(frozen=True)
class Reference:
    """`steps.<step>.<saved>` as a template uses it (`saved` is None for `steps.<step>` alone)."""

    step: str
    saved: str | None


@functools.cache
def _environment() -> SandboxedEnvironment:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


def is_template(text: str) -> bool:
    return any(mark in text for mark in _MARKUP)


def strings_in(value: Any, where: str = "") -> Iterator[tuple[str, str]]:
    """(key path, text) of every string in a nested argument structure."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from strings_in(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from strings_in(item, f"{where}.{index}" if where else str(index))


def references(text: str) -> list[Reference]:
    """The `steps.*` references of one template; TemplateProblem for bad syntax or unknown names."""
    from jinja2 import TemplateSyntaxError, meta

    if not is_template(text):
        return []
    try:
        tree = _environment().parse(text)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"template syntax error: {exc.message} (line {exc.lineno})") from None
    unknown = sorted(meta.find_undeclared_variables(tree) - set(NAMES))
    if unknown:
        raise TemplateProblem(
            f"template names `{unknown[0]}`, which is not defined; a template may use "
            + ", ".join(f"`{name}`" for name in NAMES)
            + " (as steps.<step id>.<saved name>)"
        )
    found: list[Reference] = []
    _collect(tree, found)
    return found


def _collect(node: Node, found: list[Reference]) -> None:
    chain = _chain(node)
    if chain is not None and chain[0] == "steps":
        if len(chain) >= 2:
            found.append(Reference(chain[1], chain[2] if len(chain) >= 3 else None))
        return
    for child in node.iter_child_nodes():
        _collect(child, found)


def _chain(node: Node) -> list[str] | None:
    """`steps.write.path` (or `steps['write']['path']`) as ["steps", "write", "path"]; else None."""
    from jinja2 import nodes

    parts: list[str] = []
    while True:
        if isinstance(node, nodes.Getattr):
            parts.append(str(node.attr))
            node = node.node
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            parts.append(str(node.arg.value))
            node = node.node
        elif isinstance(node, nodes.Name):
            return [str(node.name), *reversed(parts)]
        else:
            return None


def render(value: Any, context: Mapping[str, Any]) -> Any:
    """`value` with every template string in it rendered against `context` (uid, run_id, steps)."""
    if isinstance(value, str):
        return _render_text(value, context) if is_template(value) else value
    if isinstance(value, Mapping):
        return {key: render(item, context) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [render(item, context) for item in value]
    return value


def _render_text(text: str, context: Mapping[str, Any]) -> Any:
    from jinja2 import TemplateError, Undefined

    environment = _environment()
    try:
        single = _ONE_EXPRESSION.match(text)
        if single is not None and not any(mark in single["expr"] for mark in ("{%", "{#")):
            result = environment.compile_expression(single["expr"], undefined_to_none=False)(**context)
            if isinstance(result, Undefined):
                result._fail_with_undefined_error()
            return result
        return environment.from_string(text).render(**context)
    except TemplateError as exc:
        raise RenderProblem(f"cannot render {text!r}: {exc.message or type(exc).__name__}") from None
