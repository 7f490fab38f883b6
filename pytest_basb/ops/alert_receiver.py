"""A webhook receiver for Alertmanager that records what it got, so a person or a test can read it.

    python -m pytest_basb.ops.alert_receiver --listen 127.0.0.1:9095 --out alerts.json

`POST` (any path; Alertmanager's webhook payload, or any JSON) is recorded with the time it arrived
and answered 200; `GET /alerts` answers everything recorded so far as a JSON list, oldest first;
`GET /healthz` answers "ok". With `--out FILE` the list is also written whole to FILE after each
notification (and read back at start, so a restart keeps the history). The newest 1000 are kept.
Standard library only; SIGTERM or Ctrl-C stops it (exit 0). Exit 2 on bad input.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any

from pytest_basb.model.files import atomic_write

KEEP = 1000  # notifications kept (Alertmanager resends; an always-firing Watchdog never stops)
MAX_BODY = 4 * 1024 * 1024  # a notification larger than this is refused (413)


class Recorder:
    """The notifications received, newest last, mirrored to `out` when given."""

    def __init__(self, out: Path | None) -> None:
        self.out = out
        self._lock = threading.Lock()
        self._items: deque[dict[str, Any]] = deque(_read(out) if out else (), maxlen=KEEP)

    def record(self, path: str, payload: Any) -> None:
        item = {"received_at": datetime.now(UTC).isoformat(timespec="milliseconds"), "path": path, "payload": payload}
        with self._lock:
            self._items.append(item)
            if self.out is not None:
                atomic_write(self.out, json.dumps(list(self._items), indent=1), durable=False)

    def all(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._items)


def _read(out: Path) -> list[dict[str, Any]]:
    """What an earlier run recorded in `out`; nothing when it is missing or not such a list."""
    try:
        data = json.loads(out.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []


def handler(recorder: Recorder) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "basb-alert-receiver"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._answer(413, {"error": f"body of {length} bytes refused (limit {MAX_BODY})"})
                return
            try:
                payload = json.loads(self.rfile.read(length) or b"null")
            except ValueError:
                self._answer(400, {"error": "the body is not JSON"})
                return
            recorder.record(self.path, payload)
            self._answer(200, {"recorded": True})

        def do_GET(self) -> None:
            if self.path.split("?")[0] == "/alerts":
                self._answer(200, recorder.all())
            elif self.path == "/healthz":
                self._answer(200, "ok")
            else:
                self._answer(404, {"error": "GET /alerts lists what was received; POST records a notification"})

        def _answer(self, status: int, data: Any) -> None:
            body = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def main(argv: Sequence[str] | None = None) -> int:
    prog = "python -m pytest_basb.ops.alert_receiver"
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("--listen", default="127.0.0.1:9095", help="HOST:PORT (default: %(default)s)")
    parser.add_argument("--out", type=Path, help="also keep what was received in this JSON file")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    host, _, port = str(args.listen).rpartition(":")
    if not host or not port.isdigit():
        print(f"alert_receiver: error: --listen must be HOST:PORT, got {args.listen!r}", file=sys.stderr)
        return 2
    try:
        server = ThreadingHTTPServer((host.strip("[]"), int(port)), handler(Recorder(args.out)))
    except OSError as exc:
        print(f"alert_receiver: error: cannot listen on {args.listen}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    server.daemon_threads = True

    def on_signal(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    print(f"alert_receiver: listening on http://{args.listen} (POST records, GET /alerts lists)", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
