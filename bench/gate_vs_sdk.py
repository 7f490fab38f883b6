"""Benchmark: the gate's smoke run vs the best hand-written mcp-SDK program doing the same calls.

Both run as fresh processes against one already-running streamable-HTTP server (tests/servers/
good_server.py), so both pay interpreter start and `import mcp`; the difference is the gate's own
cost (pytest, collection, checks, reports). Prints medians of N runs and their ratio.

    python bench/gate_vs_sdk.py [--runs 5]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from _timing import timed  # bench/ is on sys.path when a benchmark runs as a script

REPO = Path(__file__).resolve().parent.parent
SERVER = REPO / "tests" / "servers" / "good_server.py"

HAND_WRITTEN = textwrap.dedent("""
    import anyio, sys
    from mcp import Client

    async def main(url: str) -> None:
        async with Client(url, cache=None) as c:
            await c.session.discover()
            tools = await c.list_tools()
            await c.list_resources(); await c.list_prompts()
            await c.call_tool("echo", {"text": "hi"})
            await c.call_tool("basb-gate-no-such-tool", {})
            await c.session.discover()
            for r in (await c.list_resources()).resources:
                await c.read_resource(str(r.uri))
            await c.get_prompt("summarize", {"topic": "notes"})
            assert tools.tools

    anyio.run(main, sys.argv[1])
""")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout_s: float = 20.0) -> None:
    """The server imports mcp before it listens: poll, bounded, until the port accepts."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit(f"the benchmark server did not listen on port {port} within {timeout_s:g}s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    server = subprocess.Popen([sys.executable, str(SERVER), "--http", str(port)], stderr=subprocess.DEVNULL)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            (work / "pytest.ini").write_text("[pytest]\n")
            (work / "inv.yaml").write_text(
                "version: 1\nenvironments:\n  bench:\n    services:\n      kit:\n"
                f"        transport: streamable-http\n        url: {url}\n"
                "        smoke: [{tool: echo, arguments: {text: hi}}, {prompt: summarize, arguments: {topic: notes}}]\n"
            )
            (work / "hand.py").write_text(HAND_WRITTEN)
            gate = [
                sys.executable,
                "-m",
                "pytest",
                str(REPO / "suites"),
                "-q",
                "-m",
                "smoke",
                "-c",
                str(work / "pytest.ini"),
                f"--rootdir={work}",
                f"--basb-inventory={work / 'inv.yaml'}",
                "--basb-env=bench",
                f"--basb-report-dir={work / 'report'}",
                "-p",
                "no:cacheprovider",
            ]
            hand = [sys.executable, str(work / "hand.py"), url]
            wait_for_port(port)
            timed(hand, work)  # warm the file cache
            gate_times = [timed(gate, work) for _ in range(runs)]
            hand_times = [timed(hand, work) for _ in range(runs)]
    finally:
        server.terminate()
        server.wait(timeout=10)
    gate_median, hand_median = statistics.median(gate_times), statistics.median(hand_times)
    print(f"runs: {runs}")
    print(f"gate (pytest -m smoke, all checks): median {gate_median:.3f} s")
    print(f"hand-written mcp SDK program:      median {hand_median:.3f} s")
    print(f"ratio gate / hand-written: {gate_median / hand_median:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
