"""Every way an inventory can be wrong ends in one InventoryError that names the file, the key path and
the fix, never the value (which may be a secret)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pytest_basb.inventory.load import InventoryError, load_environment, seed_vault_of
from tests.unit.inventory.bad_inventories import CASES

ONE = "version: 1\nenvironments:\n  t:\n    services:\n      s: {transport: stdio, command: [x]}\n"


def error_of(tmp_path: Path, text: str, env: str = "t", environ: dict[str, str] | None = None) -> str:
    path = tmp_path / "inv.yaml"
    path.write_text(text)
    with pytest.raises(InventoryError) as caught:
        load_environment(path, env, environ={} if environ is None else environ)
    message = str(caught.value)
    assert message.startswith(f"{path}:"), message  # the file first, always
    return message


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_bad_inventory_is_explained_by_the_loader(tmp_path: Path, case: str) -> None:
    text, fragments = CASES[case]
    message = error_of(tmp_path, text)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        pytest.param(
            "version: 1\nenvironments:\n  t:\n    extends: a\n  a:\n    extends: t\n"
            "    services:\n      s: {transport: stdio, command: [x]}\n",
            ["environments.t.extends", "cycle t -> a -> t", "remove one `extends`"],
            id="extends-cycle",
        ),
        pytest.param(
            "version: 1\nenvironments:\n  base:\n    services:\n      s: {transport: stdio, command: [x]}\n"
            "  t:\n    extends: base\n    services:\n      s: null\n",
            ["environments.t.services", "no services", "add at least one"],
            id="every-service-removed",
        ),
        pytest.param(
            "version: 1\nenvironments:\n  t:\n    services:\n      s: {command: [x]}\n",
            ["environments.t.services.s.transport", "required", "stdio, streamable-http, sse"],
            id="no-transport",
        ),
        pytest.param(
            "version: 1\nenvironments:\n  t:\n    services:\n      s: {transport: stdio, command: [x], launch: [y]}\n",
            ["environments.t.services.s.launch", "only for HTTP transports", "use `command`"],
            id="launch-on-stdio",
        ),
        pytest.param(ONE.replace("version: 1", "version: 2"), ["version: must be 1"], id="version"),
        pytest.param(
            ONE.replace("command: [x]}", "command: [x], smoke: [{tool: a, prompt: b}]}"),
            ["environments.t.services.s.smoke.0", "exactly one of `tool` or `prompt`"],
            id="tool-and-prompt",
        ),
        pytest.param(
            ONE.replace("command: [x]", "command: []"), ["services.s.command", "must not be empty"], id="empty-argv"
        ),
        pytest.param(
            "version: 1\nenvironments:\n  t:\n    services:\n      s: {transport: sse, url: 'ftp://h/mcp'}\n",
            ["environments.t.services.s.url", "not a URL", "http://host[:port]/path", "${VAR}"],
            id="not-a-url",
        ),
        pytest.param("- a\n- b\n", ["(top level): must be of type object"], id="not-a-mapping"),
    ],
)
def test_more_mistakes_name_key_path_and_fix(tmp_path: Path, text: str, fragments: list[str]) -> None:
    message = error_of(tmp_path, text)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def test_problems_of_one_file_are_listed_together_each_once(tmp_path: Path) -> None:
    message = error_of(tmp_path, "version: 1\nenvironmnets: {}\n")
    lines = message.splitlines()
    assert lines[0].endswith(": 2 problems:"), message
    assert lines[1:] == [
        "  - environmnets: unknown key; did you mean `environments`?. Allowed here: defaults, environments, version.",
        "  - (top level): required key `environments` is missing.",
    ]


def test_a_missing_file_says_how_to_point_at_one(tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match=r"inventory file not found.*--basb-inventory=PATH"):
        load_environment(tmp_path / "nope.yaml", "t", environ={})


def test_a_schema_error_never_quotes_the_value(tmp_path: Path) -> None:
    text = ONE.replace("command: [x]}", "command: [x], timeout_s: 'hunter2-secret'}")
    message = error_of(tmp_path, text)
    assert "services.s.timeout_s" in message
    assert "hunter2-secret" not in message


def test_variables_resolve_defaults_and_only_secrets_are_masked(tmp_path: Path) -> None:
    path = tmp_path / "inv.yaml"
    path.write_text(
        "version: 1\nenvironments:\n  t:\n    services:\n      s:\n        transport: streamable-http\n"
        "        url: '${BASB_URL:-http://127.0.0.1:9/mcp}'\n"
        "        headers: {Authorization: 'Bearer ${BASB_TOKEN}'}\n"
    )
    env = load_environment(path, "t", environ={"BASB_TOKEN": "tok-1234"})
    service = env.service("s")
    assert service.url == "http://127.0.0.1:9/mcp"  # the default, not a secret
    assert dict(service.headers) == {"Authorization": "Bearer tok-1234"}
    assert env.secrets == frozenset({"Bearer tok-1234", "tok-1234"})  # a header value, a TOKEN variable
    overridden = load_environment(path, "t", environ={"BASB_TOKEN": "tok-1234", "BASB_URL": "http://h:1/mcp"})
    assert overridden.service("s").url == "http://h:1/mcp"
    assert overridden.secrets == env.secrets  # a URL without userinfo or query stays readable


def test_python_in_a_command_is_this_interpreter(tmp_path: Path) -> None:
    path = tmp_path / "inv.yaml"
    path.write_text(
        "version: 1\nenvironments:\n  t:\n    services:\n"
        "      a: {transport: stdio, command: [python3, a.py]}\n      b: {transport: stdio, command: [node, b.js]}\n"
    )
    env = load_environment(path, "t", environ={})
    assert env.service("a").command == (sys.executable, "a.py")
    assert env.service("b").command == ("node", "b.js")


def test_seed_vault_is_relative_to_the_inventory_and_inherited(tmp_path: Path) -> None:
    path = tmp_path / "inv.yaml"
    path.write_text(
        "version: 1\nenvironments:\n  base:\n    seed_vault: seeds/v\n    services:\n"
        "      s: {transport: stdio, command: [x]}\n  t:\n    extends: base\n  bare:\n    services:\n"
        "      s: {transport: stdio, command: [x]}\n"
    )
    assert seed_vault_of(path, "t") == tmp_path / "seeds" / "v"
    assert seed_vault_of(path, "bare") is None
    assert seed_vault_of(path, "nope") is None
    assert load_environment(path, "t", environ={}).seed_vault == tmp_path / "seeds" / "v"


def test_a_bad_value_beside_an_unknown_key_of_one_service_are_two_problems(tmp_path: Path) -> None:
    # A service is `oneOf` (a mapping or null): both violations sit in the mapping branch.
    message = error_of(tmp_path, ONE.replace("command: [x]}", "command: [x], timeout_s: -1, bogus: 1}"))
    lines = message.splitlines()
    assert lines[0].endswith(": 2 problems:"), message
    assert lines[1].startswith("  - environments.t.services.s.bogus: unknown key."), message
    assert lines[2] == "  - environments.t.services.s.timeout_s: must be greater than 0.", message
