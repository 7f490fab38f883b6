"""Drills: rehearse an incident per service and failure mode, and time detection and recovery.

Never part of a plain run: only `pytest --basb-env=ENV -m drill` runs them, and only on an environment
marked `drills: allowed` (docs/drills.md). Each drill leaves the service working (or blocked, loudly).
"""

from __future__ import annotations

import pytest

from pytest_basb import ServiceUnderTest

pytestmark = [pytest.mark.drill]


@pytest.mark.basb_check("drill.stopped")
def test_drill_stopped(basb_service: ServiceUnderTest) -> None:
    basb_service.judge(basb_service.drill("stopped"))


@pytest.mark.basb_check("drill.hung")
def test_drill_hung(basb_service: ServiceUnderTest) -> None:
    basb_service.judge(basb_service.drill("hung"))


@pytest.mark.basb_check("drill.crashed")
def test_drill_crashed(basb_service: ServiceUnderTest) -> None:
    basb_service.judge(basb_service.drill("crashed"))
