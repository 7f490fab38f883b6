"""Smoke suite: the listed surface is well-formed and each service's core calls work."""

from __future__ import annotations

import pytest

from pytest_basb import DeclaredCall, ServiceError, ServiceUnderTest, skipped
from pytest_basb.checks import smoke

pytestmark = pytest.mark.smoke


@pytest.mark.basb_check("smoke.tools_listed")
def test_tools_listed(basb_service: ServiceUnderTest) -> None:
    session = basb_service.session
    if "tools" not in session.handshake().capabilities:
        basb_service.judge(skipped("smoke.tools_listed", basb_service.id, "no tools capability declared"))
    tools = session.tools()
    basb_service.judge(smoke.listing("smoke.tools_listed", basb_service.id, tools, pages=session.pages("tools/list")))


@pytest.mark.basb_check("smoke.expected_surface")
def test_expected_surface(basb_service: ServiceUnderTest) -> None:
    session, expect = basb_service.session, basb_service.config.expect
    tools = smoke.names(session.tools()) if expect.tools else []
    resources = None
    if expect.resources:
        resources = [str(r.get("uri")) for r in session.resources()] + smoke.names(session.resources())
    prompts = smoke.names(session.prompts()) if expect.prompts else None
    basb_service.judge(
        smoke.expected_present(basb_service.id, expect, tools=tools, resources=resources, prompts=prompts)
    )


@pytest.mark.basb_check("smoke.tool_schemas")
def test_tool_schemas(basb_service: ServiceUnderTest) -> None:
    basb_service.judge(smoke.tool_schemas(basb_service.id, _tools(basb_service)))


@pytest.mark.basb_check("smoke.tool_names")
def test_tool_names(basb_service: ServiceUnderTest) -> None:
    basb_service.judge(smoke.tool_names(basb_service.id, smoke.names(_tools(basb_service))))


@pytest.mark.basb_check("smoke.call")
def test_declared_call(basb_declared_call: DeclaredCall) -> None:
    service, call = basb_declared_call.service, basb_declared_call.call
    assert call.tool is not None
    listed = {t["name"]: t for t in service.session.tools()}
    output_schema = listed.get(call.tool, {}).get("outputSchema")
    outcome = service.session.call_tool(call.tool, dict(call.arguments))
    latency = service.session.last_duration_s
    service.judge(smoke.smoke_call(service.id, call, outcome, output_schema=output_schema, latency_s=latency))


@pytest.mark.basb_check("smoke.unknown_tool")
def test_unknown_tool_rejected(basb_service: ServiceUnderTest) -> None:
    session = basb_service.session
    _tools(basb_service)
    outcome = session.call_tool(smoke.UNKNOWN_TOOL, {})
    alive, alive_error = True, None
    try:
        session.liveness()
    except ServiceError as exc:
        alive, alive_error = False, str(exc).splitlines()[0]
    basb_service.judge(
        smoke.unknown_tool(basb_service.id, smoke.UNKNOWN_TOOL, outcome, still_alive=alive, alive_error=alive_error)
    )


@pytest.mark.basb_check("smoke.resources_read")
def test_resources_readable(basb_service: ServiceUnderTest) -> None:
    session = basb_service.session
    if "resources" not in session.handshake().capabilities:
        basb_service.judge(skipped("smoke.resources_read", basb_service.id, "no resources capability"))
    resources = session.resources()
    failures: dict[str, str] = {}
    for resource in resources:
        uri = str(resource.get("uri"))
        try:
            if not session.read_resource(uri):
                failures[uri] = "no contents"
        except ServiceError as exc:
            failures[uri] = str(exc).splitlines()[0]
    basb_service.judge(smoke.read_all("smoke.resources_read", basb_service.id, "resources", failures, len(resources)))


@pytest.mark.basb_check("smoke.prompts_get")
def test_prompts_gettable(basb_service: ServiceUnderTest) -> None:
    session = basb_service.session
    if "prompts" not in session.handshake().capabilities:
        basb_service.judge(skipped("smoke.prompts_get", basb_service.id, "no prompts capability"))
    declared = {c.prompt: c.arguments for c in basb_service.config.smoke if c.prompt is not None}
    prompts = session.prompts()
    failures: dict[str, str] = {}
    unprovided: list[str] = []
    for prompt in prompts:
        name = str(prompt.get("name"))
        required = [a["name"] for a in prompt.get("arguments", []) if a.get("required")]
        if required and name not in declared:
            unprovided.append(name)
            continue
        try:
            if not session.get_prompt(name, {k: str(v) for k, v in declared.get(name, {}).items()}):
                failures[name] = "no messages"
        except ServiceError as exc:
            failures[name] = str(exc).splitlines()[0]
    if prompts and len(unprovided) == len(prompts):
        basb_service.judge(
            skipped(
                "smoke.prompts_get",
                basb_service.id,
                f"every prompt needs arguments; declare them as smoke entries (prompt: {unprovided[0]})",
            )
        )
    basb_service.judge(
        smoke.read_all("smoke.prompts_get", basb_service.id, "prompts", failures, len(prompts) - len(unprovided))
    )


def _tools(service: ServiceUnderTest) -> list[dict[str, object]]:
    if "tools" not in service.session.handshake().capabilities:
        pytest.skip("no tools capability declared")
    return service.session.tools()
