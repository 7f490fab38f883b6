"""The inventory of a zero-config run: ids, transports, and YAML the real loader accepts."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pytest_basb.inventory.adhoc import (
    AdhocError,
    AdhocService,
    adhoc_services,
    guessed_id,
    inventory_yaml,
    renamed,
    sanitised,
    transport_of_url,
    unique,
)
from pytest_basb.inventory.load import ID_PATTERN, load_environment


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("basb-testkit", "basb-testkit"),
        ("Example Servers/Everything", "example-servers-everything"),
        ("mcp_server.fetch  v2", "mcp-server-fetch-v2"),
        ("---", "service"),
        ("Ünïcode Näme", "n-code-n-me"),
    ],
)
def test_a_server_name_becomes_a_valid_service_id(name: str, expected: str) -> None:
    import re

    assert sanitised(name) == expected
    assert re.fullmatch(ID_PATTERN.strip("^$"), sanitised(name))


def test_repeated_ids_are_made_unique_without_taking_an_existing_one() -> None:
    assert unique(["kit", "kit", "kit-2", "other", "kit"]) == ["kit", "kit-3", "kit-2", "other", "kit-4"]


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("python tests/servers/good_server.py", "good-server"),
        ("npx -y @modelcontextprotocol/server-everything@2025.1.1 stdio", "server-everything"),
        ("node node_modules/@modelcontextprotocol/server-everything/dist/index.js stdio", "server-everything"),
        ("uvx mcp-server-fetch", "mcp-server-fetch"),
        ("python -m notes.server --stdio", "notes-server"),
        ("docker run -i --rm mcp/fetch", "fetch"),
    ],
)
def test_without_a_connection_the_id_comes_from_what_the_command_runs(command: str, expected: str) -> None:
    [service] = adhoc_services([], [command])
    assert service.id == expected


def test_a_url_gives_host_and_port_and_sse_by_its_path() -> None:
    services = adhoc_services(["http://127.0.0.1:8931/mcp", "https://notes.example.org/sse/"], [])
    assert [(s.id, s.transport) for s in services] == [
        ("127-0-0-1-8931", "streamable-http"),
        ("notes-example-org", "sse"),
    ]
    assert transport_of_url("http://h/mcp/sse-bridge") == "streamable-http"
    assert guessed_id(AdhocService(id="", transport="stdio", command=("python",))) == "python"


@pytest.mark.parametrize(
    ("urls", "commands", "words"),
    [
        (["127.0.0.1:8931/mcp"], [], "not an http(s) URL"),
        ([], ["npx 'unterminated"], "quote it as a shell would"),
        ([], ["   "], "empty"),
    ],
)
def test_unusable_values_are_named_with_the_fix(urls: list[str], commands: list[str], words: str) -> None:
    with pytest.raises(AdhocError, match=r"--basb-(url|command)") as info:
        adhoc_services(urls, commands)
    assert words in str(info.value)


def test_the_printed_inventory_loads_with_the_real_loader(tmp_path: Path) -> None:
    services = adhoc_services(["http://127.0.0.1:8931/mcp"], ["python server.py --flag 'two words'"])
    services = renamed(services, ["Notes Search", "Notes Search"])  # two servers with one name
    path = tmp_path / "basb-inventory.yaml"
    path.write_text(inventory_yaml(services, timeout_s=7.5))
    environment = load_environment(path, "adhoc", environ={})
    by_id = {s.id: s for s in environment.services}
    assert sorted(by_id) == ["notes-search", "notes-search-2"]
    assert by_id["notes-search"].url == "http://127.0.0.1:8931/mcp"
    stdio = by_id["notes-search-2"]
    # `python` runs as the interpreter running pytest; the command runs beside the saved file.
    assert stdio.command == (sys.executable, "server.py", "--flag", "two words")
    assert stdio.cwd == tmp_path
    assert stdio.timeout_s == 7.5
