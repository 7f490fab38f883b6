"""Security suite (`-m security`): authentication, origin, protocol header, TLS, sessions, CORS,
tool poisoning, shadowing and secrets. Offline, no LLM; every finding names its OWASP MCP Top 10 id.

HTTP checks speak raw HTTP (`pytest_basb.connection.security_probe`), since the MCP client would hide the
status codes and headers they judge. A check that does not apply is a skip that says why.
"""

from __future__ import annotations

from typing import Any

import pytest

from pytest_basb import Environment, ServiceUnderTest, ToolCallOutcome, probes
from pytest_basb.checks import security, transport_security
from pytest_basb.checks.security import Text

pytestmark = pytest.mark.security

MALFORMED_CALL_LIMIT = 25  # tools probed with wrongly typed arguments per service


def _http(service: ServiceUnderTest) -> tuple[str, str, dict[str, str], float]:
    """transport, url, resolved headers, deadline; a failed launch fails the check here, with its reason."""
    timeout = service.session.timeout_s
    endpoint = service.endpoint
    return endpoint.transport, endpoint.url or "", dict(endpoint.headers), timeout


def _credentials(service: ServiceUnderTest, environment: Environment) -> list[tuple[str, str]]:
    return security.credential_values(service.endpoint.headers, environment.secrets)


def _bearer_token(headers: dict[str, str]) -> str | None:
    for name, value in headers.items():
        scheme, _, token = value.partition(" ")
        if name.lower() == "authorization" and scheme.lower() == "bearer" and token.strip():
            return token.strip()
    return None


@pytest.mark.basb_check("security.auth_required")
def test_auth_required(basb_service: ServiceUnderTest, basb_environment: Environment) -> None:
    transport, url, headers, timeout = _http(basb_service)
    names = sorted({name for name, _ in _credentials(basb_service, basb_environment)})
    replies = (
        probes.auth_probes(url, headers, timeout=timeout, transport=transport) if transport != "stdio" and names else []
    )
    basb_service.judge(
        transport_security.auth_required(
            basb_service.id, transport, credentials=names, bearer=_bearer_token(headers) is not None, replies=replies
        )
    )


@pytest.mark.basb_check("security.auth_metadata")
def test_auth_metadata(basb_service: ServiceUnderTest, basb_environment: Environment) -> None:
    transport, url, headers, timeout = _http(basb_service)
    has_auth = bool(_credentials(basb_service, basb_environment))
    replies = []
    if transport != "stdio":
        challenge = probes.bare_probe(url, headers, timeout=timeout, transport=transport).header("www-authenticate")
        replies = probes.metadata_probes(transport_security.metadata_urls(url, challenge), headers, timeout=timeout)
    basb_service.judge(
        transport_security.auth_metadata(basb_service.id, transport, url=url, has_auth=has_auth, replies=replies)
    )


@pytest.mark.basb_check("security.token_in_query")
def test_token_in_query(basb_service: ServiceUnderTest) -> None:
    transport, url, headers, timeout = _http(basb_service)
    token = _bearer_token(headers)
    reply, open_door = None, False
    if transport != "stdio" and token is not None:
        reply = probes.token_in_query_probe(url, headers, token, timeout=timeout, transport=transport)
        bare = probes.bare_probe(url, headers, timeout=timeout, transport=transport)
        open_door = bare.status is not None and bare.status < 300
    basb_service.judge(
        transport_security.token_in_query(
            basb_service.id, transport, bearer=token is not None, reply=reply, open_door=open_door
        )
    )


@pytest.mark.basb_check("security.origin")
def test_origin(basb_service: ServiceUnderTest) -> None:
    transport, url, headers, timeout = _http(basb_service)
    reply = probes.origin_probe(url, headers, timeout=timeout, transport=transport) if transport != "stdio" else None
    basb_service.judge(transport_security.origin(basb_service.id, transport, reply=reply))


@pytest.mark.basb_check("security.protocol_header")
def test_protocol_header(basb_service: ServiceUnderTest) -> None:
    transport, url, headers, timeout = _http(basb_service)
    reply, setup_error = None, None
    if transport == "streamable-http":
        reply, setup_error = probes.protocol_header_probe(url, headers, timeout=timeout)
    basb_service.judge(
        transport_security.protocol_header(basb_service.id, transport, reply=reply, setup_error=setup_error)
    )


@pytest.mark.basb_check("security.tls")
def test_tls(basb_service: ServiceUnderTest) -> None:
    transport, _, _, timeout = _http(basb_service)
    endpoint = basb_service.endpoint
    urls = {label: u for label, u in (("url", endpoint.url), ("health_url", endpoint.health_url)) if u}
    errors = {
        u: probes.tls_error(u, timeout=timeout)
        for u in urls.values()
        if u.startswith("https://") and not transport_security.is_loopback(u)
    }
    basb_service.judge(transport_security.tls(basb_service.id, transport, urls=urls, errors=errors))


@pytest.mark.basb_check("security.session_ids")
def test_session_ids(basb_service: ServiceUnderTest) -> None:
    transport, url, headers, timeout = _http(basb_service)
    ids: list[str | None] = []
    unknown, setup_error = None, None
    if transport == "streamable-http":
        ids, unknown, setup_error = probes.session_id_probes(url, headers, timeout=timeout)
    basb_service.judge(
        transport_security.session_ids(basb_service.id, transport, ids=ids, unknown=unknown, setup_error=setup_error)
    )


@pytest.mark.basb_check("security.cors")
def test_cors(basb_service: ServiceUnderTest, basb_environment: Environment) -> None:
    transport, url, headers, timeout = _http(basb_service)
    replies = []
    if transport != "stdio":
        replies = [
            probes.preflight_probe(url, timeout=timeout),
            probes.origin_probe(url, headers, timeout=timeout, transport=transport),
        ]
    has_auth = bool(_credentials(basb_service, basb_environment))
    basb_service.judge(transport_security.cors(basb_service.id, transport, has_auth=has_auth, replies=replies))


# -- what the model reads ----------------------------------------------------------------------


def _tools(service: ServiceUnderTest) -> list[dict[str, Any]]:
    session = service.session
    return session.tools() if "tools" in session.handshake().capabilities else []


def _surface(service: ServiceUnderTest) -> list[Text]:
    session = service.session
    handshake = session.handshake()
    capabilities = handshake.capabilities
    texts = security.surface_texts(
        tools=_tools(service),
        resources=session.resources() if "resources" in capabilities else [],
        prompts=session.prompts() if "prompts" in capabilities else [],
        instructions=handshake.instructions,
    )
    if handshake.server_name:
        texts.insert(0, ("serverInfo.name", handshake.server_name))
    return texts


@pytest.mark.basb_check("security.poisoning")
def test_poisoning(basb_service: ServiceUnderTest) -> None:
    basb_service.judge(security.poisoning_check(basb_service.id, _surface(basb_service)))


@pytest.mark.basb_check("security.shadowing")
def test_shadowing(basb_service: ServiceUnderTest) -> None:
    tools = _tools(basb_service)
    others, unreachable = basb_service.other_services_tools()
    basb_service.judge(security.shadowing_check(basb_service.id, tools, others, unreachable=unreachable))


def _error_text(outcome: ToolCallOutcome) -> str:
    return "\n".join(t for t in (outcome.error_message, outcome.text, outcome.validation_error) if t)


@pytest.mark.basb_check("security.secrets")
def test_secrets(basb_service: ServiceUnderTest, basb_environment: Environment) -> None:
    session = basb_service.session
    texts = _surface(basb_service)
    answers: list[Text] = []
    for tool in _tools(basb_service)[:MALFORMED_CALL_LIMIT]:
        arguments = security.malformed_arguments(tool)
        if arguments is not None:
            name = str(tool.get("name"))
            answers.append(
                (f"tools/call {name} (malformed arguments)", _error_text(session.call_tool(name, arguments)))
            )
    if "tools" in session.handshake().capabilities:
        answers.append(
            (
                f"tools/call {security.ERROR_PROBE_TOOL} (unknown tool)",
                _error_text(session.call_tool(security.ERROR_PROBE_TOOL, {})),
            )
        )
    credentials = _credentials(basb_service, basb_environment)
    basb_service.judge(security.secrets_check(basb_service.id, texts, answers, credentials))
