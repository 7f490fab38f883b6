"""The end of a run on the controller: results gathered from every worker, and closing the sessions
so that a Ctrl-C or SIGTERM during the close still ends the run as interrupted."""

from __future__ import annotations

import json

import pytest

from pytest_basb.model.locks import exclusive
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


def finish_session(session: pytest.Session, state: BasbState) -> None:
    """Close the sessions, then (controller) write the run's reports: its verdict, or that it was interrupted."""
    config = session.config
    close_or_interrupt(session, state)
    if hasattr(config, "workerinput"):
        return
    # Two runs reporting into one folder write one after the other: its files are all of one run.
    with exclusive(f"report folder {state.options.report_dir.resolve()}"):
        _write_reports(session, state)


def _write_reports(session: pytest.Session, state: BasbState) -> None:
    config = session.config
    if state.interrupted:
        from pytest_basb.run.reports import write_interrupted_report

        write_interrupted_report(state)  # no verdict, no log entry: and no stale verdict left behind
        session.exitstatus = pytest.ExitCode.INTERRUPTED
        return
    if state.shard_empty and session.exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        # A CI matrix job whose shard holds no service succeeded; its empty report still merges.
        session.exitstatus = pytest.ExitCode.OK
    from pytest_basb.run.scope import run_scope

    if config.option.collectonly or (not state.results and run_scope(state) is None):
        return
    from pytest_basb.run.exit_output import amend_results

    amend_results(state)  # every process has closed its sessions by now
    stop = session.shouldfail or session.shouldstop
    state.stopped_early = stop if isinstance(stop, str) else "stopped early" if stop else None
    # A gate run that checked nothing still writes its report ("nothing was checked"): no stale verdict stays.
    from pytest_basb.run.reports import write_run_reports

    write_run_reports(state, config)
    if state.verdict == "fail" and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
