"""First contact: a server checked with no inventory (`--basb-url`, `--basb-command`), the inventory
that reproduces it, and failures that say what happened, once per cause.

Real pytest runs (pytester) of the shipped suites against real servers: the test kit over stdio,
streamable HTTP and SSE, the TypeScript SDK's server from npm, a server that crashes at start, one
that never finishes starting, one that answers HTTP 500, and a port nobody listens on.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_basb.inventory.load import load_environment
from tests.helpers import GOOD_SERVER, NODE_EVERYTHING, ROGUE_SERVER, free_port

# The test kit imports `mcp` (a few seconds on a busy machine): a deadline it always meets.
KIT_TIMEOUT = "--basb-timeout=30"

CRASHING_SERVER = """
import sys
print("loading config /etc/notes.toml", file=sys.stderr)
print("Traceback (most recent call last):", file=sys.stderr)
print("ModuleNotFoundError: No module named 'notes_backend'", file=sys.stderr)
sys.exit(3)
"""

HTTP_500_SERVER = """
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = b'{"detail": "database is locked: index.db"}'
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST

    def log_message(self, *args):
        pass

HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


class FirstContact:
    """Runs pytest as a newcomer would: no inventory, no test path (the shipped suites)."""

    def __init__(self, pytester: pytest.Pytester) -> None:
        self.pytester = pytester
        self.path = pytester.path
        self.report_dir = self.path / "report"
        (self.path / "pytest.ini").write_text("[pytest]\n")

    def run(self, *args: str) -> pytest.RunResult:
        return self.pytester.runpytest(
            "-c",
            str(self.path / "pytest.ini"),
            f"--rootdir={self.path}",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            f"--basb-report-dir={self.report_dir}",
            *args,
        )

    def gate(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.report_dir / "gate.json").read_text())
        return data

    def script(self, name: str, text: str) -> Path:
        path = self.path / name
        path.write_text(textwrap.dedent(text))
        return path


@pytest.fixture
def first(pytester: pytest.Pytester) -> FirstContact:
    return FirstContact(pytester)


@pytest.fixture
def serve() -> Iterator[Any]:
    """Start an HTTP server (argv, port) and wait until its port accepts connections."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(argv: list[str], port: int) -> None:
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        processes.append(process)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert process.poll() is None, f"{argv} exited with {process.returncode}"
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.1)
        raise AssertionError(f"{argv} did not listen on {port}")

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=10)


def outcomes(gate: dict[str, Any]) -> Counter[tuple[str, str]]:
    """(check id, outcome) of every check, whatever the service is called."""
    return Counter((c["id"], c["outcome"]) for c in gate["checks"])


def test_a_stdio_server_is_checked_with_no_inventory_and_the_printed_inventory_reproduces_it(
    first: FirstContact,
) -> None:
    command = f"--basb-command=python {GOOD_SERVER}"
    zero_config = first.run(command, KIT_TIMEOUT)
    assert zero_config.ret == 0, zero_config.stdout.str()[-3000:]
    gate = first.gate()
    assert gate["environment"] == "adhoc"
    assert [s["id"] for s in gate["services"]] == ["basb-testkit"]  # named after the server
    suites = {c["id"].split(".")[0] for c in gate["checks"] if c["outcome"] != "skip"}
    assert suites == {"health", "smoke"}
    assert ("health.handshake", "pass") in outcomes(gate)
    # The run keeps its inventory, with the server's name as the id.
    kept = load_environment(first.report_dir / "inventory.yaml", "adhoc", environ={})
    assert [s.id for s in kept.services] == ["basb-testkit"]

    printed = first.run(command, KIT_TIMEOUT, "--basb-print-inventory")
    assert printed.ret == 0
    (first.path / "basb-inventory.yaml").write_text(printed.stdout.str())
    again = first.run("--basb-env=adhoc", "--basb-inventory=basb-inventory.yaml", "-m", "health or smoke")
    assert again.ret == 0, again.stdout.str()[-3000:]
    assert outcomes(first.gate()) == outcomes(gate)


def test_a_stdio_server_is_started_once_in_a_zero_config_run(first: FirstContact) -> None:
    # The session that asked the server its name is the one its checks use.
    methods = first.path / "methods.log"
    result = first.run(f"--basb-command=python {ROGUE_SERVER} --method-log {methods}", "--basb-timeout=10")
    assert result.ret == 0
    assert methods.read_text().splitlines().count("initialize") == 1
    assert outcomes(first.gate())[("smoke.tools_listed", "pass")] == 1  # its listings were fetched


def test_printing_the_inventory_never_connects(first: FirstContact) -> None:
    port = free_port()  # nobody listens there, and no such program exists: a connection would fail
    result = first.run(
        f"--basb-url=http://127.0.0.1:{port}/mcp",
        "--basb-command=no-such-program-basb --stdio",
        "--basb-print-inventory",
    )
    assert result.ret == 0
    text = result.stdout.str()
    assert f"http://127.0.0.1:{port}/mcp" in text
    assert "no-such-program-basb" in text
    assert not first.report_dir.exists()


def test_http_servers_are_checked_over_streamable_http_and_sse(first: FirstContact, serve: Any) -> None:
    http_port, sse_port = free_port(), free_port()
    serve([sys.executable, str(GOOD_SERVER), "--http", str(http_port)], http_port)
    serve([sys.executable, str(GOOD_SERVER), "--sse", str(sse_port)], sse_port)
    result = first.run(
        f"--basb-url=http://127.0.0.1:{http_port}/mcp", f"--basb-url=http://127.0.0.1:{sse_port}/sse", KIT_TIMEOUT
    )
    assert result.ret == 0, result.stdout.str()[-3000:]
    gate = first.gate()
    # Two servers with one name: the ids stay unique.
    assert sorted(s["id"] for s in gate["services"]) == ["basb-testkit", "basb-testkit-2"]
    kept = load_environment(first.report_dir / "inventory.yaml", "adhoc", environ={})
    assert sorted((s.transport, s.url) for s in kept.services) == [
        ("sse", f"http://127.0.0.1:{sse_port}/sse"),
        ("streamable-http", f"http://127.0.0.1:{http_port}/mcp"),
    ]


@pytest.mark.skipif(not NODE_EVERYTHING.exists(), reason="npm server not installed (make test installs it)")
def test_a_server_from_npm_is_checked_with_no_inventory(first: FirstContact) -> None:
    entry = NODE_EVERYTHING / "dist" / "index.js"
    result = first.run(f"--basb-command=node {entry} stdio", KIT_TIMEOUT)
    gate = first.gate()
    [service] = gate["services"]
    handshake = next(c for c in gate["checks"] if c["id"] == "health.handshake")
    assert handshake["outcome"] == "pass", handshake
    assert service["server"]["name"], service
    assert service["id"] != "index"  # named after the server, not the script
    failing = [c for c in gate["checks"] if c["outcome"] in ("fail", "error")]
    assert result.ret == (1 if failing else 0), failing


def test_a_server_that_cannot_start_fails_once_and_blocks_its_other_checks(first: FirstContact) -> None:
    crash = first.script("crash.py", CRASHING_SERVER)
    result = first.run(f"--basb-command=python {crash}", "-rfs")
    assert result.ret == 1
    text = result.stdout.str()
    assert text.count("FAILED ") == 1, text[-3000:]
    result.stdout.fnmatch_lines(["FAILED *test_handshake[[]crash[]]*", "*blocked by health.handshake*"])
    gate = first.gate()
    assert gate["verdict"] == "fail"
    handshake = next(c for c in gate["checks"] if c["id"] == "health.handshake")
    assert handshake["outcome"] == "fail"
    assert "exited with status 3" in handshake["message"]
    assert "No module named 'notes_backend'" in handshake["message"]  # the server's stderr
    others = [c for c in gate["checks"] if c["id"] != "health.handshake"]
    assert all(c["outcome"] == "skip" for c in others), others
    blocked = [c for c in others if c.get("blocked_by") == "health.handshake"]
    assert len(blocked) >= 5, others
    assert all(c["message"].startswith("blocked by health.handshake: ") for c in blocked)
    assert "blocked: " in text
    assert "blocked by health.handshake" in text


def test_a_server_still_starting_is_told_to_raise_its_timeout(first: FirstContact) -> None:
    sleeper = first.script("slow.py", "import time\ntime.sleep(120)\n")
    result = first.run(f"--basb-command=python {sleeper}", "--basb-timeout=2")
    assert result.ret == 1
    handshake = next(c for c in first.gate()["checks"] if c["id"] == "health.handshake")
    assert "still starting after 2 s: raise timeout_s" in handshake["message"]
    assert result.stdout.str().count("FAILED ") == 1


def test_http_500_and_a_refused_port_say_what_happened(first: FirstContact, serve: Any) -> None:
    broken, nobody = free_port(), free_port()
    server = first.script("http500.py", HTTP_500_SERVER)
    serve([sys.executable, str(server), str(broken)], broken)
    result = first.run(
        f"--basb-url=http://127.0.0.1:{broken}/mcp", f"--basb-url=http://127.0.0.1:{nobody}/mcp", "--basb-timeout=10"
    )
    assert result.ret == 1
    text = result.stdout.str()
    assert text.count("FAILED ") == 2, text[-3000:]  # one per cause
    messages = {c["service"]: c["message"] for c in first.gate()["checks"] if c["id"] == "health.handshake"}
    assert "HTTP 500 Internal Server Error" in messages[f"127-0-0-1-{broken}"]
    assert "database is locked: index.db" in messages[f"127-0-0-1-{broken}"]  # the body's first bytes
    assert "connection refused" in messages[f"127-0-0-1-{nobody}"]
    assert "-32603" not in text


def test_bare_pytest_says_how_to_start_and_keeps_its_exit_status(first: FirstContact) -> None:
    result = first.run()
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    result.stdout.fnmatch_lines(["pytest-basb: no environment chosen. Check a server: pytest --basb-url=URL*"])


def test_an_environment_and_a_zero_config_server_exclude_each_other(first: FirstContact) -> None:
    result = first.run("--basb-env=prod", "--basb-url=http://127.0.0.1:9/mcp")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--basb-env and --basb-url/--basb-command exclude each other*"])
