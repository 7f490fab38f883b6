"""The transport judges' remaining branches: stdio and SSE skips, no answer, metadata documents,
TLS certificates, session ids and CORS, each from recorded HTTP exchanges."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pytest_basb.checks import transport_security as ts
from pytest_basb.checks.transport_security import FOREIGN_ORIGIN, HttpReply

URL = "https://notes.example.org/mcp"
DOWN = HttpReply(sent="POST /mcp", error="ConnectError: refused")
GOOD_IDS = ["4ad281266f8345e7a1da0d0af2f81ee0", "84741a2e2b9c47b5be1300f2a4126f7b"]


def reply(status: int | None, body: str = "", sent: str = "GET /x", **headers: str) -> HttpReply:
    return HttpReply(sent=sent, status=status, body=body, headers={k.replace("_", "-"): v for k, v in headers.items()})


def metadata(document: Any) -> list[HttpReply]:
    return [reply(404), reply(200, json.dumps(document), sent="GET /.well-known/oauth-protected-resource/mcp")]


@pytest.mark.parametrize(
    "judge",
    [
        lambda t: ts.auth_required("s", t, credentials=["Authorization"], bearer=True, replies=[]),
        lambda t: ts.auth_metadata("s", t, url=URL, has_auth=True, replies=[]),
        lambda t: ts.token_in_query("s", t, bearer=True, reply=None),
        lambda t: ts.origin("s", t, reply=None),
        lambda t: ts.protocol_header("s", t, reply=None, setup_error=None),
        lambda t: ts.tls("s", t, urls={}, errors={}),
        lambda t: ts.session_ids("s", t, ids=[], unknown=None),
        lambda t: ts.cors("s", t, has_auth=False, replies=[]),
    ],
)
def test_every_judge_skips_a_stdio_service(judge: Any) -> None:
    result = judge("stdio")
    assert (result.outcome, result.message) == ("skip", "stdio service: no HTTP endpoint to probe")


def test_no_http_answer_is_an_error_naming_the_request_not_a_verdict() -> None:
    results = [
        ts.auth_required("s", "sse", credentials=["X-Api-Key"], bearer=False, replies=[reply(401), DOWN]),
        ts.token_in_query("s", "streamable-http", bearer=True, reply=DOWN),
        ts.protocol_header("s", "streamable-http", reply=DOWN, setup_error=None),
        ts.cors("s", "streamable-http", has_auth=True, replies=[DOWN]),
    ]
    for result in results:
        assert (result.outcome, result.message) == ("error", "POST /mcp: no HTTP answer (ConnectError: refused)")
    assert ts.auth_required("s", "sse", credentials=[], bearer=False, replies=[]).outcome == "skip"
    setup = ts.protocol_header("s", "streamable-http", reply=None, setup_error="no session: 500")
    assert (setup.outcome, setup.message) == ("error", "no session: 500")


def test_errors_are_quoted_in_the_evidence_only_for_refusals() -> None:
    refused = reply(401, "x" * 300, www_authenticate="Bearer")
    assert refused.brief() == {"sent": "GET /x", "status": 401, "www-authenticate": "Bearer", "body": "x" * 200}
    assert "body" not in reply(200, "secret notes").brief()
    assert DOWN.brief() == {"sent": "POST /mcp", "status": None, "error": "ConnectError: refused"}


def test_metadata_urls_challenge_first_then_path_then_root() -> None:
    challenge = 'Bearer error="invalid_token", resource_metadata="https://auth.example.org/meta"'
    assert ts.metadata_urls(URL, challenge) == [
        "https://auth.example.org/meta",
        "https://notes.example.org/.well-known/oauth-protected-resource/mcp",
        "https://notes.example.org/.well-known/oauth-protected-resource",
    ]
    assert ts.metadata_urls("http://h:8/", None) == ["http://h:8/.well-known/oauth-protected-resource"]


@pytest.mark.parametrize(
    ("document", "problems"),
    [
        ({"resource": URL, "authorization_servers": ["https://auth.example.org"]}, []),
        ({"resource": URL + "/", "authorization_servers": ["https://a"]}, []),  # a trailing slash is the same
        ({"authorization_servers": ["https://a"]}, ["`resource` is missing"]),
        ({"resource": "https://other/mcp", "authorization_servers": ["https://a"]}, ["not the service's URL"]),
        ({"resource": URL, "authorization_servers": []}, ["`authorization_servers` is missing or empty"]),
        ({"resource": URL, "authorization_servers": [""]}, ["`authorization_servers` is missing or empty"]),
        (["a list"], ["the document is not a JSON object", "`resource` is missing"]),
    ],
)
def test_auth_metadata_document(document: Any, problems: list[str]) -> None:
    result = ts.auth_metadata("s", "streamable-http", url=URL, has_auth=True, replies=metadata(document))
    if not problems:
        assert result.outcome == "pass"
        assert result.evidence["document"] == document
        return
    assert result.outcome == "fail"
    message = result.message or ""
    assert message.startswith("GET /.well-known/oauth-protected-resource/mcp: ")
    for problem in problems:
        assert problem in message
    assert message.endswith("[MCP07]")


def test_auth_metadata_without_a_document_or_without_credentials() -> None:
    absent = [reply(404), reply(404)]
    assert ts.auth_metadata("s", "sse", url=URL, has_auth=True, replies=absent).outcome == "fail"
    open_service = ts.auth_metadata("s", "sse", url=URL, has_auth=False, replies=absent)
    assert (open_service.outcome, open_service.severity) == ("warn", "warn")
    assert "whoever reaches the URL can use every tool" in (open_service.message or "")
    not_json = ts.auth_metadata("s", "sse", url=URL, has_auth=True, replies=[reply(200, "<html>")])
    assert "answered 200 but not JSON" in (not_json.message or "")
    good = {"resource": URL, "authorization_servers": ["https://a"]}
    undeclared = ts.auth_metadata("s", "sse", url=URL, has_auth=False, replies=metadata(good))
    assert undeclared.outcome == "warn"
    assert "declares no credentials" in (undeclared.message or "")


def test_token_in_query_is_not_judged_when_the_door_is_open() -> None:
    result = ts.token_in_query("s", "streamable-http", bearer=True, reply=reply(200), open_door=True)
    assert result.outcome == "skip"
    assert "security.auth_required" in (result.message or "")


def test_tls_on_remote_urls() -> None:
    urls = {"url": URL, "health_url": "https://notes.example.org/health", "metrics_url": "http://localhost:9/m"}
    assert ts.tls("s", "sse", urls=urls, errors={}).outcome == "pass"
    bad_cert = ts.tls("s", "sse", urls=urls, errors={URL: "self-signed certificate"})
    assert bad_cert.outcome == "fail"
    assert bad_cert.message == f"url {URL}: the certificate does not verify (self-signed certificate) [MCP01]"
    assert ts.is_loopback("http://api.localhost:1/")
    assert ts.is_loopback("http://[::1]:8/")
    assert not ts.is_loopback("http://10.0.0.1/")


def test_session_ids_on_sse_after_a_failed_setup_and_identical_ids() -> None:
    assert ts.session_ids("s", "sse", ids=GOOD_IDS, unknown=None).outcome == "skip"
    broken = ts.session_ids("s", "streamable-http", ids=[], unknown=None, setup_error="initialize failed")
    assert (broken.outcome, broken.message) == ("error", "initialize failed")
    same = ts.session_ids("s", "streamable-http", ids=[GOOD_IDS[0]] * 2, unknown=reply(404))
    assert "two sessions got the same id" in (same.message or "")
    number = ts.session_ids("s", "streamable-http", ids=["17648512345678901"], unknown=reply(404))
    assert "is a number: guessable" in (number.message or "")
    silent = ts.session_ids("s", "streamable-http", ids=GOOD_IDS, unknown=DOWN)
    assert "POST /mcp: no answer (ConnectError: refused)" in (silent.message or "")
    shown = ts.session_ids("s", "streamable-http", ids=GOOD_IDS, unknown=reply(404))
    assert shown.evidence["ids"] == ["4ad28126…", "84741a2e…"]  # never a whole session id


def test_cors_reflection_is_a_warning_unless_credentials_or_auth_make_it_a_failure() -> None:
    reflected = [reply(200, access_control_allow_origin=FOREIGN_ORIGIN)]
    open_reflection = ts.cors("s", "streamable-http", has_auth=False, replies=reflected)
    assert (open_reflection.outcome, open_reflection.message) == (
        "warn",
        "GET /x: the foreign origin is reflected [MCP07]",
    )
    assert ts.cors("s", "streamable-http", has_auth=True, replies=reflected).outcome == "fail"
    assert ts.cors("s", "streamable-http", has_auth=True, replies=[reply(200)]).outcome == "pass"
    assert ts.cors("s", "streamable-http", has_auth=True, replies=[]).outcome == "skip"
