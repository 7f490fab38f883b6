"""`basb-baseline diff` on generated arguments and damaged baseline files: exit 0, 1 or 2, and a bad
input gets a message about the input, never an internal error's name (or a traceback)."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pytest_basb.cli.baseline import main
from tests.helpers import REPO
from tests.strategies import JSON

EXAMPLES = 300
VALID = {p.stem: json.loads(p.read_text()) for p in sorted((REPO / "baselines" / "local").glob("*.json"))[:2]}
INTERNAL = re.compile(r"^basb-baseline: error: [A-Z]\w*(?:Error|Exception)\b", re.MULTILINE)


@st.composite
def damaged(draw: st.DrawFn, document: dict[str, Any]) -> Any:
    """The document with one value somewhere replaced by generated JSON (or removed)."""
    doc = copy.deepcopy(document)
    node: Any = doc
    for _ in range(draw(st.integers(0, 4))):  # walk down a few levels
        if isinstance(node, dict) and node:
            key = draw(st.sampled_from(sorted(node)))
            if not isinstance(node[key], dict | list) or not node[key]:
                break
            node = node[key]
        elif isinstance(node, list) and node:
            node = node[draw(st.integers(0, len(node) - 1))]
        else:
            break
    if isinstance(node, dict) and node:
        key = draw(st.sampled_from(sorted(node)))
        if draw(st.booleans()):
            node[key] = draw(JSON)
        else:
            del node[key]
    elif isinstance(node, list) and node:
        node[draw(st.integers(0, len(node) - 1))] = draw(JSON)
    return doc


@st.composite
def baseline_file(draw: st.DrawFn) -> bytes:
    service = draw(st.sampled_from(sorted(VALID)))
    kind = draw(st.sampled_from(["valid", "damaged", "damaged", "json", "bytes", "deep", "empty"]))
    if kind == "valid":
        return json.dumps(VALID[service]).encode()
    if kind == "damaged":
        return json.dumps(draw(damaged(VALID[service]))).encode()
    if kind == "json":
        return json.dumps(draw(JSON)).encode()
    if kind == "bytes":
        return draw(st.binary(max_size=64))
    if kind == "deep":
        return b"[" * draw(st.integers(1000, 100_000))
    return b""


ENV_ARGS = st.sampled_from(
    [
        ["staging", "prod"],
        ["--from", "staging", "--to", "prod"],
        ["staging", "--to", "prod"],
        ["staging", "--from", "other", "prod"],
        ["staging"],
        ["staging", "staging"],
        [],
        ["staging", "prod", "extra"],
        ["missing", "prod"],
    ]
)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    files=st.fixed_dictionaries(
        {
            env: st.dictionaries(st.sampled_from([*sorted(VALID), "x"]), baseline_file(), max_size=2)
            for env in ("staging", "prod")
        }
    ),
    env_args=ENV_ARGS,
    extra=st.lists(
        st.sampled_from(["--json", "--service", "search", "capture", "--baseline-dir", "--help", "-x", ""])
        | st.text(max_size=6),
        max_size=3,
    ),
    as_folder=st.booleans(),
)
def test_diff_of_generated_inputs_exits_0_1_or_2_with_a_message(
    files: dict[str, dict[str, bytes]],
    env_args: list[str],
    extra: list[str],
    as_folder: bool,
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = tmp_path_factory.mktemp("baselines")
    for env, services in files.items():
        (root / env).mkdir()
        for service, content in services.items():
            path = root / env / f"{service}.json"
            if as_folder and service == "x":
                path.mkdir()  # a folder where a baseline file should be
            else:
                path.write_bytes(content)
    capsys.readouterr()
    code = _main(["diff", *env_args, "--baseline-dir", str(root), *extra])
    err = capsys.readouterr().err
    event(f"exit {code}")  # --hypothesis-show-statistics: how the generated inputs ended
    assert code in (0, 1, 2), err
    assert not INTERNAL.search(err), err


def _main(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse's --help
        return exc.code if isinstance(exc.code, int) else 2


def test_the_valid_baselines_diff_cleanly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The generator's starting point is itself a good input (else the test above proves little)."""
    for env in ("staging", "prod"):
        (tmp_path / env).mkdir()
        for service, document in VALID.items():
            (tmp_path / env / f"{service}.json").write_text(json.dumps(document))
    assert main(["diff", "staging", "prod", "--baseline-dir", str(tmp_path)]) == 0
    assert "OK: no breaking drift" in capsys.readouterr().out
