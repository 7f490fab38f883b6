"""Every service that declares `contract: basb/1` offers its role's contract (schemas/basb/<role>.json)."""

from __future__ import annotations

import pytest

from pytest_basb import ServiceUnderTest
from pytest_basb.checks.contract import contract_conformance

pytestmark = [pytest.mark.smoke]


@pytest.mark.basb_check("basb.contract")
def test_role_contract(basb_service: ServiceUnderTest) -> None:
    # A `role:` alone is a label; `contract: basb/1` is the promise this check holds the service to.
    role = basb_service.config.role if basb_service.config.contract is not None else None
    tools = basb_service.session.tools() if role is not None else []
    basb_service.judge(contract_conformance(basb_service.id, role, tools))
