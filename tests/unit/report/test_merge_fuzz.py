"""`basb-report merge` on generated inputs: it answers 0, 1 or 2 and never ends in a traceback."""

from __future__ import annotations

import json
import string
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_basb.report.merge import main
from tests.unit.report.test_merge_scope import shard

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(string.printable, max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(string.ascii_lowercase, max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
KEYS = (
    "version",
    "environment",
    "started_at",
    "finished_at",
    "checks",
    "services",
    "scope",
    "shard",
    "gate",
    "ci_ok",
    "runbooks_dir",
)


@st.composite
def damaged_shard(draw: st.DrawFn) -> Any:
    """A valid shard report with one part replaced by something generated, or raw generated JSON."""
    _, document = shard(draw(st.integers(1, 3)), services=(draw(st.sampled_from("abc")),))
    if draw(st.booleans()):
        return draw(JSON)
    document[draw(st.sampled_from(KEYS))] = draw(JSON)
    return document


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(documents=st.lists(damaged_shard(), min_size=1, max_size=3))
def test_merge_of_generated_reports_exits_0_1_or_2(
    documents: list[Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("shards")
    paths = []
    for n, document in enumerate(documents):
        path = folder / f"s{n}.json"
        path.write_text(json.dumps(document))
        paths.append(str(path))
    assert main(["merge", "--out", str(folder / "out"), *paths]) in (0, 1, 2)
