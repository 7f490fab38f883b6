"""This repo's reference services still match the baselines committed in baselines/local/.

A change to a reference service's surface, descriptions or golden results fails here (and in
`make demo`); when the change is intended, review it and record again:
`pytest --basb-env=local -m regression --basb-record-baseline`. Latency is left to `make demo`:
timing on a shared test machine is no promise a test can make.
"""

from __future__ import annotations

import json

import pytest

from tests.helpers import REPO, SUITES


def test_reference_services_match_the_committed_baselines(pytester: pytest.Pytester) -> None:
    (pytester.path / "pytest.ini").write_text("[pytest]\n")
    report = pytester.path / "report"
    result = pytester.runpytest_subprocess(
        str(SUITES / "regression"),
        f"--basb-inventory={REPO / 'basb-inventory.yaml'}",
        "--basb-env=local",
        f"--basb-report-dir={report}",
        f"--basb-vault={pytester.path / 'vault'}",
        "-c",
        str(pytester.path / "pytest.ini"),
        f"--rootdir={pytester.path}",
        "-p",
        "no:cacheprovider",
        "-k",
        "not test_latency",
        "-W",
        "error::pytest_basb.run.harness.BasbCheckWarning",
        timeout=180,
    )
    checks = json.loads((report / "gate.json").read_text())["checks"]
    bad = [f"{c['id']} [{c['service']}]: {c['message']}" for c in checks if c["outcome"] not in ("pass", "skip")]
    assert not bad, "a reference service drifted from baselines/local/; if intended, record again:\n" + "\n".join(bad)
    ran = {c["id"] for c in checks if c["outcome"] == "pass"}
    assert {"regression.baseline", "regression.surface", "regression.descriptions", "regression.golden"} <= ran
    assert result.ret == 0
