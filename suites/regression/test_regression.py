"""Regression suite: the surface, results and speed of each service match its recorded baseline.

`--basb-record-baseline` records instead of comparing (every check passes and writes its part of
`baselines/<env>/<service>.json`). Per service: baseline, surface, descriptions; per declared
tool call: golden (calls marked `golden: true`), latency and flakiness over `--basb-repeat` calls.
"""

from __future__ import annotations

import pytest

from pytest_basb import DeclaredCall, Regression, ServiceUnderTest
from pytest_basb.checks import drift

pytestmark = pytest.mark.regression


@pytest.mark.basb_check("regression.baseline")
def test_baseline(basb_service: ServiceUnderTest, pytestconfig: pytest.Config) -> None:
    basb_service.judge(Regression(pytestconfig, basb_service).check_baseline())


@pytest.mark.basb_check("regression.surface")
def test_surface(basb_service: ServiceUnderTest, pytestconfig: pytest.Config) -> None:
    found = Regression(pytestconfig, basb_service).surface_drift("regression.surface")
    basb_service.judge(drift.surface_result(basb_service.id, found) if isinstance(found, drift.Drift) else found)


@pytest.mark.basb_check("regression.descriptions")
def test_descriptions(basb_service: ServiceUnderTest, pytestconfig: pytest.Config) -> None:
    found = Regression(pytestconfig, basb_service).surface_drift("regression.descriptions")
    basb_service.judge(drift.descriptions_result(basb_service.id, found) if isinstance(found, drift.Drift) else found)


@pytest.mark.basb_check("regression.golden")
def test_golden(basb_declared_call: DeclaredCall, pytestconfig: pytest.Config) -> None:
    service = basb_declared_call.service
    service.judge(Regression(pytestconfig, service).check_golden(basb_declared_call))


@pytest.mark.basb_check("regression.latency")
def test_latency(basb_declared_call: DeclaredCall, pytestconfig: pytest.Config) -> None:
    service = basb_declared_call.service
    service.judge(Regression(pytestconfig, service).check_latency(basb_declared_call))


@pytest.mark.basb_check("regression.flaky")
def test_flaky(basb_declared_call: DeclaredCall, pytestconfig: pytest.Config) -> None:
    service = basb_declared_call.service
    service.judge(Regression(pytestconfig, service).check_flaky(basb_declared_call))
