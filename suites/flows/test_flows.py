"""Declared flows: each `flows:` entry of the environment is one check, `flow.<name>`.

A flow calls tools on one or more services in order, passes saved values from step to step,
retries where it says so and runs its clean-up steps also after a failure (docs/flows.md).
"""

from __future__ import annotations

import pytest

from pytest_basb import FlowUnderTest

pytestmark = [pytest.mark.flow]


def test_flow(basb_flow: FlowUnderTest) -> None:
    basb_flow.judge(basb_flow.run())
