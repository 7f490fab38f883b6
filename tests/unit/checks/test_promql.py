"""The metric names a rule's PromQL expression reads (checks/promql.py)."""

from __future__ import annotations

import pytest

from pytest_basb.checks.promql import metric_names, tokens


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ("up", {"up"}),
        ("vector(1)", set()),
        ('up{job="basb-probe", service=~"se.*"} == 0', {"up"}),
        ("sum by (job, service) (rate(basb_tool_calls_total[5m]))", {"basb_tool_calls_total"}),
        ("sum without(instance)(rate(x_total[5m:1m]))", {"x_total"}),
        ("sum(rate(a_total[5m])) by (job) / on(job) group_left(team) b_info", {"a_total", "b_info"}),
        ("histogram_quantile(0.95, sum by (le) (rate(d_bucket[5m]))) > 2.5", {"d_bucket"}),
        ("time() - push_time_seconds{job='basb-gate'} > 6h", {"push_time_seconds"}),
        ('{__name__="basb_gate_verdict", environment="prod"} == 0', {"basb_gate_verdict"}),
        ('{__name__=~"basb_.+"}', set()),  # a regex names no single metric
        ('absent(basb_probe_success{service="search"}) or absent_over_time(x[5m])', set()),
        ("absent(a) or b", {"b"}),
        ("a > bool Inf and c unless d offset 1h", {"a", "c", "d"}),
        ("max_over_time(foo[1h] @ end())", {"foo"}),
        ("job:basb_calls:rate5m > 0  # recording-rule names have colons", {"job:basb_calls:rate5m"}),
        ('label_replace(up, "dst", "$1", "src", "(.*)")', {"up"}),
        ("count(x) by (le) > 0x1F", {"x"}),
    ],
)
def test_metric_names(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names


def test_strings_with_quotes_and_escapes_are_one_token() -> None:
    assert tokens(r'a{b="x\"y", c=`raw "q"`}') == [
        ("ident", "a"),
        ("op", "{"),
        ("ident", "b"),
        ("op", "="),
        ("string", r'"x\"y"'),
        ("op", ","),
        ("ident", "c"),
        ("op", "="),
        ("string", '`raw "q"`'),
        ("op", "}"),
    ]


def test_a_stray_character_is_an_error() -> None:
    with pytest.raises(ValueError, match="unexpected '\\$' at offset 2"):
        tokens("a $ b")
