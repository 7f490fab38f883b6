"""The end of a run on the controller: results gathered from every worker, and closing the sessions
so that a Ctrl-C or SIGTERM during the close still ends the run as interrupted."""

from __future__ import annotations

import json

import pytest

from pytest_basb.model.results import RESULT_PROPERTY, CheckResult
from pytest_basb.run.state import BasbState


class ResultCollector:
    """Controller side: gathers results from reports, which arrive from every xdist worker."""

    def __init__(self, state: BasbState) -> None:
        self.state = state

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for name, value in report.user_properties:
            if name == RESULT_PROPERTY:
                result = CheckResult.from_dict(json.loads(str(value)))
                self.state.results[result.nodeid] = result
                self.state.locations[result.nodeid] = report.location[0]


def close_or_interrupt(session: pytest.Session, state: BasbState) -> None:
    """Close the sessions; a Ctrl-C or SIGTERM during the close ends the run as interrupted (exit 2)."""
    try:
        state.close(fast=state.interrupted)
    except KeyboardInterrupt:
        from pytest_basb.run.interrupt import on_interrupt

        on_interrupt(state)
        session.exitstatus = pytest.ExitCode.INTERRUPTED
