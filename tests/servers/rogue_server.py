"""A hand-written, misbehaving MCP stdio server (standard library only, starts fast).

Speaks the handshake era (``initialize``; versions 2024-11-05 .. 2025-11-25) as
newline-delimited JSON-RPC 2.0 on stdin/stdout. ``server/discover`` and every other
unknown method get -32601, so a 2.x client in ``mode="auto"`` falls back to initialize.

Usage: rogue_server.py [--mode MODE] [--pid-file PATH] [--linger] [--method-log PATH]
  --pid-file PATH   write this process's pid to PATH at start (spawn-child: the
                    grandchild's pid is appended as a second line)
  --linger          stay alive after stdin closes (only a signal ends it); by default
                    the server exits at stdin EOF, as a well-behaved stdio server does
  --mode            one injected misbehaviour, see MODES
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from typing import Any

MODES = (
    "ok",  # behaves
    "hang-handshake",  # never answers initialize (or server/discover); stays alive
    "hang-call",  # handshake fine, never answers tools/call; keeps answering ping
    "garbage",  # non-JSON lines on stdout before and between replies
    "crash-call",  # traceback on stderr, exit code 3 when tools/call arrives
    "huge",  # tools/call answers with ~20 MB of text
    "bad-version",  # initialize answers protocolVersion "2024-01-01"
    "bad-schema",  # tools/list has an invalid inputSchema and a tool named "bad name!"
    "paginate",  # tools/list: 25 tools in pages of 10 (nextCursor)
    "ignore-sigterm",  # SIGTERM is ignored, and stdin EOF does not end the process (implies --linger)
    "spawn-child",  # starts a grandchild `sleep 300`
    "bad-utf8-call",  # tools/call answers with a line that is not valid UTF-8
    "deep-call",  # tools/call answers with JSON nested 100,000 levels deep
    "print-at-exit",  # behaves, then print()s a goodbye on stdout once stdin closes
)
KNOWN_VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
LATEST = "2025-11-25"
HUGE_BYTES = 20 * 1024 * 1024
PAGE = 10

ECHO_TOOL: dict[str, Any] = {
    "name": "echo",
    "description": "Echo the text back.",
    "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
}
BAD_SCHEMA_TOOL: dict[str, Any] = {
    "name": "bad_schema",
    "description": "Its inputSchema is not a valid JSON Schema.",
    "inputSchema": {"type": "object", "properties": {"x": {"type": 12}}},
}
BAD_NAME_TOOL: dict[str, Any] = {
    "name": "bad name!",
    "description": "Its name breaks the tool-name rules.",
    "inputSchema": {"type": "object", "properties": {}},
}


def write(obj: dict[str, Any] | str) -> None:
    line = obj if isinstance(obj, str) else json.dumps(obj, separators=(",", ":"))
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def tools_page(mode: str, cursor: str | None) -> dict[str, Any]:
    if mode == "bad-schema":
        return {"tools": [ECHO_TOOL, BAD_SCHEMA_TOOL, BAD_NAME_TOOL]}
    if mode != "paginate":
        return {"tools": [ECHO_TOOL]}
    tools = [ECHO_TOOL] + [
        {"name": f"tool_{i:02d}", "inputSchema": {"type": "object", "properties": {}}} for i in range(1, 25)
    ]
    start = int(cursor) if cursor and cursor.isdigit() else 0
    page: dict[str, Any] = {"tools": tools[start : start + PAGE]}
    if start + PAGE < len(tools):
        page["nextCursor"] = str(start + PAGE)
    return page


def call_tool(mode: str, params: dict[str, Any]) -> dict[str, Any] | None:
    """The result of tools/call, or None for no reply; may exit the process."""
    if mode == "hang-call":
        return None
    if mode == "crash-call":
        sys.stderr.write(
            "Traceback (most recent call last):\n"
            '  File "rogue_server.py", line 1, in call_tool\n'
            "RuntimeError: rogue server crashed on tools/call\n"
        )
        sys.stderr.flush()
        os._exit(3)
    if mode == "huge":
        return {"content": [{"type": "text", "text": "x" * HUGE_BYTES}]}
    args = params.get("arguments") or {}
    if params.get("name") != "echo":
        return {"content": [{"type": "text", "text": f"Unknown tool: {params.get('name')}"}], "isError": True}
    text = str(args.get("text", ""))
    return {"content": [{"type": "text", "text": text}]}


def result_for(mode: str, method: str, params: dict[str, Any]) -> dict[str, Any] | None:
    """The result for a request, None for no reply; raises KeyError for an unknown method."""
    if method == "initialize":
        if mode == "hang-handshake":
            return None
        asked = params.get("protocolVersion")
        version = asked if asked in KNOWN_VERSIONS else LATEST
        return {
            "protocolVersion": "2024-01-01" if mode == "bad-version" else version,
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "rogue", "version": "0.0.1"},
        }
    if method == "server/discover" and mode == "hang-handshake":
        return None
    if method == "ping":
        return {}
    if method == "tools/list":
        return tools_page(mode, params.get("cursor"))
    if method == "tools/call":
        return call_tool(mode, params)
    raise KeyError(method)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=MODES, default="ok")
    parser.add_argument("--pid-file", metavar="PATH")
    parser.add_argument("--linger", action="store_true")
    parser.add_argument("--method-log", metavar="PATH", help="append each request's method to PATH")
    args = parser.parse_args()
    mode: str = args.mode
    pids = [os.getpid()]
    if mode == "ignore-sigterm":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if mode == "spawn-child":
        import subprocess  # only here: keeps start-up fast

        pids.append(subprocess.Popen(["sleep", "300"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL).pid)
    if args.pid_file:
        with open(args.pid_file, "w") as f:
            f.write("".join(f"{pid}\n" for pid in pids))
    if mode == "garbage":
        write("hello from print()")
    for raw in sys.stdin:
        try:
            msg = json.loads(raw)
        except ValueError:
            write({"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "Parse error"}})
            continue
        if not isinstance(msg, dict) or "id" not in msg or "method" not in msg:
            continue  # notifications and responses need no reply
        method, params = str(msg["method"]), msg.get("params")
        params = params if isinstance(params, dict) else {}
        if args.method_log:
            with open(args.method_log, "a") as log:
                log.write(method + "\n")
        if mode == "garbage":
            write(f"DEBUG: handling {method} ...")
            write('{"debug": "valid JSON, not JSON-RPC"}')
        if method == "tools/call" and mode in ("bad-utf8-call", "deep-call"):
            head = b'{"jsonrpc":"2.0","id":' + json.dumps(msg["id"]).encode() + b',"result":'
            body = b'{"content":[{"type":"text","text":"\xff\xfe"}]}' if mode == "bad-utf8-call" else b"[" * 100_000
            sys.stdout.buffer.write(head + body + (b"}" if mode == "bad-utf8-call" else b"]" * 100_000 + b"}") + b"\n")
            sys.stdout.flush()
            continue
        try:
            result = result_for(mode, method, params)
        except KeyError:
            reply: dict[str, Any] = {"code": -32601, "message": f"Method not found: {method}"}
            write({"jsonrpc": "2.0", "id": msg["id"], "error": reply})
            continue
        if result is not None:
            write({"jsonrpc": "2.0", "id": msg["id"], "result": result})
    if mode == "print-at-exit":
        print("Server stopped. Goodbye!")  # the misbehaviour: stdout written after the session closed
    while args.linger or mode == "ignore-sigterm":
        signal.pause()
    return 0


if __name__ == "__main__":
    sys.exit(main())
