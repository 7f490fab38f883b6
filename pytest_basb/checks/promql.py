"""The metric names a PromQL expression reads, found by a small tokenizer (no PromQL parser needed).

A name counts when it selects series: a bare identifier that is not a function or aggregation
(followed by `(`), not a keyword, not a label name inside `{...}` or a grouping list (`by (...)`,
`on (...)`), plus `{__name__="name"}` matchers. Names inside `absent(...)` and
`absent_over_time(...)` are left out: those functions exist to read a metric that may be missing.

Limits: a regex name matcher (`{__name__=~"basb_.*"}`) names no single metric and is ignored; so
is a name built at run time (`label_replace` on `__name__`). The tokenizer does not check syntax:
Prometheus does that when it loads the rule (a broken rule shows up as its health).
"""

from __future__ import annotations

import re

_TOKEN = re.compile(
    r"""
    (?P<space>\s+|\#[^\n]*)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<number>0[xX][0-9a-fA-F]+|(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?(?:[smhdwy]|ms)*)
  | (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
  | (?P<op>=~|!~|!=|==|<=|>=|[-+*/%^<>=(){}\[\],@:])
    """,
    re.VERBOSE,
)
# Words that are never metric names where they stand: binary operators and modifiers.
KEYWORDS = frozenset(
    {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool", "atan2"}
)
_GROUPING = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})
_NUMBER_WORDS = frozenset({"inf", "nan"})
_MAY_BE_ABSENT = frozenset({"absent", "absent_over_time"})


def tokens(expr: str) -> list[tuple[str, str]]:
    """(kind, text) pairs; kinds: string, number, ident, op. Raises ValueError on a stray character."""
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(expr):
        match = _TOKEN.match(expr, pos)
        if match is None:
            raise ValueError(f"unexpected {expr[pos]!r} at offset {pos}")
        kind = match.lastgroup or ""
        if kind != "space":
            out.append((kind, match.group()))
        pos = match.end()
    return out


def metric_names(expr: str) -> set[str]:
    """The metric names `expr` selects series of (see the module docstring for what counts)."""
    toks = tokens(expr)
    names: set[str] = set()
    braces = 0  # inside a label matcher list
    brackets = 0  # inside a range or subquery: durations only (`[5m:1m]`)
    label_list_depth: int | None = None  # paren depth of a `by (...)`-style label list
    absent_depth: int | None = None  # paren depth of an absent(...) call
    depth = 0
    for i, (kind, text) in enumerate(toks):
        following = toks[i + 1][1] if i + 1 < len(toks) else ""
        if kind == "op":
            if text == "{":
                braces += 1
            elif text == "}":
                braces -= 1
            elif text == "[":
                brackets += 1
            elif text == "]":
                brackets -= 1
            elif text == "(":
                depth += 1
            elif text == ")":
                if label_list_depth == depth:
                    label_list_depth = None
                if absent_depth == depth:
                    absent_depth = None
                depth -= 1
            continue
        if kind == "string" and braces and i >= 2 and toks[i - 1][1] == "=" and toks[i - 2][1] == "__name__":
            if absent_depth is None:
                names.add(_unquote(text))
            continue
        if kind != "ident" or braces or brackets or label_list_depth is not None:
            continue
        if text in _GROUPING and following == "(":
            label_list_depth = depth + 1
            continue
        if following == "(" or (following in ("by", "without") and text not in KEYWORDS):  # a call or `sum by`
            if text in _MAY_BE_ABSENT and absent_depth is None:
                absent_depth = depth + 1
            continue
        if text in KEYWORDS or text.lower() in _NUMBER_WORDS:
            continue
        if i >= 1 and toks[i - 1][1] == "@":  # `@ start()` / `@ end()` are followed by "(" anyway
            continue
        if absent_depth is None:
            names.add(text)
    return names


def _unquote(text: str) -> str:
    body = text[1:-1]
    return body if text[0] == "`" else re.sub(r"\\(.)", r"\1", body)
