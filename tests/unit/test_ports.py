"""Ports of launched servers: held per run with an flock, moved when taken, rewritten where named."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from pytest_basb.inventory.load import ServiceConfig
from pytest_basb.targets.base import TargetError
from pytest_basb.targets.ports import PortKeeper, loopback_port, moved
from tests.helpers import free_port


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8931/mcp", ("127.0.0.1", 8931)),
        ("http://localhost:8931/mcp", ("127.0.0.1", 8931)),
        ("http://[::1]:8931/mcp", ("::1", 8931)),
        ("http://0.0.0.0:8931/mcp", ("127.0.0.1", 8931)),
        ("http://127.0.0.1/mcp", None),  # no port to move
        ("https://mcp.example.com:8931/mcp", None),  # another machine's
        ("http://127.0.0.1:99999/mcp", None),
        (None, None),
    ],
)
def test_loopback_port(url: str | None, expected: tuple[str, int] | None) -> None:
    assert loopback_port(url) == expected


def test_moved_rewrites_the_port_wherever_it_is_named_and_nothing_else() -> None:
    service = ServiceConfig(
        id="web",
        transport="streamable-http",
        url="http://127.0.0.1:8931/mcp",
        health_url="http://127.0.0.1:8931/healthz",
        metrics_url="http://127.0.0.1:9100/metrics",  # another port: another server, not moved
        launch=("python", "server.py", "--port=8931", "--workers", "18931"),
        env={"PORT": "8931", "OTHER": "89310"},
    )
    after = moved(service, 8931, 40000)
    assert after.url == "http://127.0.0.1:40000/mcp"
    assert after.health_url == "http://127.0.0.1:40000/healthz"
    assert after.metrics_url == "http://127.0.0.1:9100/metrics"
    assert after.launch == ("python", "server.py", "--port=40000", "--workers", "18931")
    assert after.env == {"PORT": "40000", "OTHER": "89310"}
    assert moved(service, 8931, 8931) is service


def test_a_service_whose_launch_does_not_name_its_port_cannot_be_moved() -> None:
    service = ServiceConfig(id="web", transport="streamable-http", url="http://127.0.0.1:8931/mcp", launch=("./run",))
    with pytest.raises(TargetError, match="cannot be moved to a free port"):
        moved(service, 8931, 40000)


def test_a_port_is_held_by_one_run_at_a_time(tmp_path: Path) -> None:
    preferred = free_port()
    first, second = PortKeeper(tmp_path), PortKeeper(tmp_path)  # two runs: two open lock files
    assert first.claim("127.0.0.1", preferred) == preferred
    other = second.claim("127.0.0.1", preferred)
    assert other != preferred
    assert first.claim("127.0.0.1", preferred) != preferred  # a second service of one run moves too
    first.release_all()
    assert PortKeeper(tmp_path).claim("127.0.0.1", preferred) == preferred
    second.release_all()


def test_a_port_another_program_listens_on_is_not_claimed(tmp_path: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        taken = listener.getsockname()[1]
        keeper = PortKeeper(tmp_path)
        port = keeper.claim("127.0.0.1", taken)
        assert port != taken
        with socket.socket() as probe:  # the port given instead is free to listen on
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(("127.0.0.1", port))
        keeper.release_all()
