"""The webhook receiver as a process: it records Alertmanager-style POSTs, lists them on GET /alerts,
mirrors them to --out (read back after a restart), refuses what is not JSON, stops on SIGTERM."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.ops.probe_stack import alert_receiver, get, received

NOTIFICATION = {
    "receiver": "basb-webhook",
    "status": "firing",
    "alerts": [{"status": "firing", "labels": {"alertname": "BasbProbeFailing", "service": "search"}}],
}


def post(url: str, body: bytes) -> int:
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_receiver_records_lists_and_keeps_notifications(tmp_path: Path) -> None:
    with alert_receiver(tmp_path) as (base, out):
        assert received(base) == []
        assert post(f"{base}/alertmanager", json.dumps(NOTIFICATION).encode()) == 200
        assert post(f"{base}/other", b'{"status": "resolved"}') == 200
        assert post(f"{base}/alertmanager", b"not json") == 400
        got = received(base)
        assert [(g["path"], g["payload"]) for g in got] == [
            ("/alertmanager", NOTIFICATION),
            ("/other", {"status": "resolved"}),
        ]
        assert all(g["received_at"].endswith("+00:00") for g in got)
        assert json.loads(out.read_text()) == got
        assert get(f"{base}/nothing-here", 10)[0] == 404
    with alert_receiver(tmp_path) as (base, _out):  # the same --out: a restart keeps the history
        assert received(base) == got


@pytest.mark.parametrize("listen", ["9095", "host:port"])
def test_receiver_refuses_a_bad_listen_address(listen: str) -> None:
    from pytest_basb.ops.alert_receiver import main

    assert main(["--listen", listen]) == 2
