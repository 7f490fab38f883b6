"""Security checks of the HTTP transport, judged from raw exchanges (plain data, no httpx here).

The probes (`pytest_basb.connection.security_probe`) send what an attacker or a careless client would; these
functions say whether the answers are what the MCP spec (2025-06-18 and later: authorization,
transports) and RFC 9728 / RFC 6750 require. A check that does not apply is a skip with the reason.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from pytest_basb.checks.security import owasp_evidence
from pytest_basb.model.results import CheckResult, Severity, passed, skipped, violated

FOREIGN_ORIGIN = "https://basb-gate-foreign-origin.invalid"
UNSUPPORTED_VERSION = "1999-01-01"


@dataclass(frozen=True)
class HttpReply:
    """One raw HTTP exchange: what was sent (in words) and what came back."""

    sent: str  # e.g. "POST /mcp without credentials"
    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    body: str = ""
    error: str | None = None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def brief(self) -> dict[str, Any]:
        data: dict[str, Any] = {"sent": self.sent, "status": self.status}
        if self.error:
            data["error"] = self.error
        for name in ("www-authenticate", "access-control-allow-origin", "access-control-allow-credentials"):
            if name in self.headers:
                data[name] = self.headers[name]
        if self.body and (self.status or 0) >= 400:
            data["body"] = self.body[:200]
        return data


def is_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def not_http(check_id: str, service: str, transport: str) -> CheckResult | None:
    if transport == "stdio":
        return skipped(check_id, service, "stdio service: no HTTP endpoint to probe")
    return None


def _fail(
    check_id: str, service: str, owasp: str, message: str, replies: Sequence[HttpReply], **more: Any
) -> CheckResult:
    return _violation(check_id, service, owasp, message, replies, "fail", **more)


def _violation(
    check_id: str, service: str, owasp: str, message: str, replies: Sequence[HttpReply], severity: Severity, **more: Any
) -> CheckResult:
    evidence = {**owasp_evidence([owasp]), "exchanges": [r.brief() for r in replies], **more}
    return violated(check_id, service, f"{message} [{owasp}]", severity=severity, evidence=evidence)


def _pass(check_id: str, service: str, replies: Sequence[HttpReply], **more: Any) -> CheckResult:
    return passed(check_id, service, exchanges=[r.brief() for r in replies], **more)


def _no_answer(check_id: str, service: str, replies: Sequence[HttpReply]) -> CheckResult | None:
    broken = [r for r in replies if r.error is not None]
    if not broken:
        return None
    return CheckResult(
        id=check_id,
        service=service,
        outcome="error",
        message=f"{broken[0].sent}: no HTTP answer ({broken[0].error})",
        evidence={"exchanges": [r.brief() for r in replies]},
    )


# -- security.auth_required ---------------------------------------------------------------------


def auth_required(
    service: str, transport: str, *, credentials: Sequence[str], bearer: bool, replies: Sequence[HttpReply]
) -> CheckResult:
    """Without the declared credentials, and with a wrong token: 401 with a Bearer challenge."""
    check = "security.auth_required"
    if (skip := not_http(check, service, transport)) is not None:
        return skip
    if not credentials:
        return skipped(check, service, "no credentials declared (no Authorization or API-key header in `headers`)")
    if (error := _no_answer(check, service, replies)) is not None:
        return error
    problems = []
    for reply in replies:
        if reply.status != 401:
            verb = "accepted" if reply.status is not None and reply.status < 300 else "answered"
            problems.append(f"{reply.sent} was {verb} with HTTP {reply.status}, expected 401")
        elif bearer and not (reply.header("www-authenticate") or "").lower().startswith("bearer"):
            problems.append(f"{reply.sent} got 401 without `WWW-Authenticate: Bearer ...`")
    if problems:
        return _fail(check, service, "MCP07", "; ".join(problems), replies)
    return _pass(check, service, replies, credentials=list(credentials))


# -- security.auth_metadata ---------------------------------------------------------------------


def metadata_urls(url: str, challenge: str | None) -> list[str]:
    """Where RFC 9728 metadata may be: the challenge's resource_metadata, then path-suffixed, then root."""
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    path = parts.path.rstrip("/")
    urls = []
    if challenge:
        for item in challenge.split(","):
            key, _, value = item.strip().removeprefix("Bearer ").removeprefix("bearer ").partition("=")
            if key.strip().lower() == "resource_metadata" and value:
                urls.append(value.strip().strip('"'))
    if path:
        urls.append(f"{origin}/.well-known/oauth-protected-resource{path}")
    urls.append(f"{origin}/.well-known/oauth-protected-resource")
    return list(dict.fromkeys(urls))


def auth_metadata(
    service: str, transport: str, *, url: str, has_auth: bool, replies: Sequence[HttpReply]
) -> CheckResult:
    check = "security.auth_metadata"
    if (skip := not_http(check, service, transport)) is not None:
        return skip
    if not has_auth and is_loopback(url):
        # Reachable from this machine only: a local tool with no credentials needs no OAuth metadata.
        return skipped(check, service, "a loopback service that declares no credentials")
    found = next((r for r in replies if r.status == 200), None)
    if found is None:
        if not has_auth:
            return _violation(
                check,
                service,
                "MCP07",
                "the service declares no credentials and serves no protected-resource metadata: "
                "whoever reaches the URL can use every tool",
                replies,
                "warn",
            )
        return _fail(check, service, "MCP07", "no RFC 9728 protected-resource metadata (tried every URL)", replies)
    try:
        document = json.loads(found.body)
    except ValueError:
        return _fail(check, service, "MCP07", f"{found.sent} answered 200 but not JSON", replies)
    problems = []
    if not isinstance(document, dict):
        problems.append("the document is not a JSON object")
        document = {}
    resource = document.get("resource")
    servers = document.get("authorization_servers")
    if not isinstance(resource, str) or not resource:
        problems.append("`resource` is missing")
    elif resource.rstrip("/") != url.rstrip("/"):
        problems.append(f"`resource` is {resource!r}, not the service's URL {url!r} (RFC 9728 §3.3)")
    if not isinstance(servers, list) or not servers or not all(isinstance(s, str) and s for s in servers):
        problems.append("`authorization_servers` is missing or empty")
    if problems:
        return _fail(check, service, "MCP07", f"{found.sent}: " + "; ".join(problems), replies, document=document)
    if not has_auth:
        return _violation(
            check,
            service,
            "MCP07",
            "metadata is served, but the inventory declares no credentials for this service",
            replies,
            "warn",
            document=document,
        )
    return _pass(check, service, [found], document=document)


# -- security.token_in_query --------------------------------------------------------------------


def token_in_query(
    service: str, transport: str, *, bearer: bool, reply: HttpReply | None, open_door: bool = False
) -> CheckResult:
    """`open_door`: the service took a request with no credentials at all (auth_required's finding)."""
    check = "security.token_in_query"
    if (skip := not_http(check, service, transport)) is not None:
        return skip
    if not bearer or reply is None:
        return skipped(check, service, "no bearer token declared (headers.Authorization: Bearer ...)")
    if open_door:
        return skipped(
            check, service, "the service accepts requests without credentials (security.auth_required): nothing to tell"
        )
    if (error := _no_answer(check, service, [reply])) is not None:
        return error
    if reply.status is not None and reply.status < 300:
        return _fail(
            check,
            service,
            "MCP01",
            f"{reply.sent} was accepted (HTTP {reply.status}): tokens in URLs end up in logs and proxies",
            [reply],
        )
    return _pass(check, service, [reply])


# -- security.origin ----------------------------------------------------------------------------


def origin(service: str, transport: str, *, reply: HttpReply | None) -> CheckResult:
    check = "security.origin"
    if (skip := not_http(check, service, transport)) is not None:
        return skip
    if reply is None:
        return CheckResult(id=check, service=service, outcome="error", message="no exchange")
    return _expect_status(
        check,
        service,
        reply,
        403,
        refused_otherwise=f"{reply.sent} was refused with HTTP {reply.status}; the spec asks for 403",
        accepted=(
            f"{reply.sent} got HTTP {reply.status}, expected 403: a web page can reach the service (DNS rebinding)"
        ),
    )


# -- security.protocol_header -------------------------------------------------------------------


def protocol_header(service: str, transport: str, *, reply: HttpReply | None, setup_error: str | None) -> CheckResult:
    check = "security.protocol_header"
    if (skip := not_http(check, service, transport)) is not None:
        return skip
    if transport == "sse":
        return skipped(check, service, "SSE transport (2024-11-05): it has no MCP-Protocol-Version header")
    if reply is None:
        return CheckResult(id=check, service=service, outcome="error", message=setup_error or "no exchange")
    return _expect_status(
        check,
        service,
        reply,
        400,
        refused_otherwise=f"{reply.sent} got HTTP {reply.status}; the spec asks for 400",
        accepted=f"{reply.sent} got HTTP {reply.status}, expected 400",
    )


def _expect_status(
    check: str, service: str, reply: HttpReply, expected: int, *, refused_otherwise: str, accepted: str
) -> CheckResult:
    """The spec names one status: it passes; another 4xx refusal warns; anything else fails (MCP07)."""
    if (error := _no_answer(check, service, [reply])) is not None:
        return error
    if reply.status == expected:
        return _pass(check, service, [reply])
    if reply.status is not None and 400 <= reply.status < 500:
        return _violation(check, service, "MCP07", refused_otherwise, [reply], "warn")
    return _fail(check, service, "MCP07", accepted, [reply])


# -- security.tls -------------------------------------------------------------------------------


def tls(service: str, transport: str, *, urls: Mapping[str, str], errors: Mapping[str, str | None]) -> CheckResult:
    """Every non-loopback URL is https and its certificate verifies (`errors`: url -> TLS error)."""
    check = "security.tls"
    if (skip := not_http(check, service, transport)) is not None:
        return skip
    remote = {label: url for label, url in urls.items() if not is_loopback(url)}
    if not remote:
        hosts = sorted({urlsplit(u).hostname or "?" for u in urls.values()})
        return skipped(check, service, f"loopback only ({', '.join(hosts)}): traffic never leaves this host")
    problems = []
    for label, url in sorted(remote.items()):
        if urlsplit(url).scheme != "https":
            problems.append(f"{label} {url} is plain HTTP to a non-loopback host: tokens and notes travel unencrypted")
        elif errors.get(url):
            problems.append(f"{label} {url}: the certificate does not verify ({errors[url]})")
    evidence = {"urls": dict(urls)}
    if problems:
        return violated(
            check, service, "; ".join(problems) + " [MCP01]", evidence={**owasp_evidence(["MCP01"]), **evidence}
        )
    return passed(check, service, **evidence)


# -- security.session_ids -----------------------------------------------------------------------

_MIN_SESSION_ID = 16  # 128-bit UUIDs as hex are 32; anything under 16 characters is guessable


def session_ids(
    service: str,
    transport: str,
    *,
    ids: Sequence[str | None],
    unknown: HttpReply | None,
    setup_error: str | None = None,
) -> CheckResult:
    check = "security.session_ids"
    if (skip := not_http(check, service, transport)) is not None:
        return skip
    if setup_error is not None:
        return CheckResult(id=check, service=service, outcome="error", message=setup_error)
    given = [i for i in ids if i]
    if not given:
        header = "session_id in its SSE endpoint" if transport == "sse" else "Mcp-Session-Id"
        return skipped(check, service, f"the server sets no {header} (stateless): nothing to guess")
    problems = []
    for sid in given:
        bad = sorted({f"U+{ord(c):04X}" for c in sid if not 0x21 <= ord(c) <= 0x7E})
        if bad:
            problems.append(f"session id has characters outside visible ASCII ({', '.join(bad)})")
        if len(sid) < _MIN_SESSION_ID:
            problems.append(f"session id {sid!r} is only {len(sid)} characters: guessable")
        elif sid.isdigit():
            problems.append(f"session id {sid!r} is a number: guessable (a counter or a timestamp)")
    if len(given) >= 2:
        a, b = given[0], given[1]
        same = sum(x == y for x, y in zip(a, b, strict=False))
        if a == b:
            problems.append("two sessions got the same id")
        elif len(a) >= _MIN_SESSION_ID and same > max(len(a), len(b)) // 2:
            problems.append(f"two sessions' ids share {same} of {len(a)} characters in place: predictable")
    replies = [unknown] if unknown is not None else []
    unanswered = None
    if unknown is not None:
        if unknown.error is not None and transport == "sse":
            # Neither delivered nor refused: the request is left hanging (a held connection, not a hijack).
            unanswered = f"{unknown.sent}: left unanswered ({unknown.error}), neither refused nor accepted"
        elif unknown.error is not None:
            problems.append(f"{unknown.sent}: no answer ({unknown.error})")
        elif transport == "sse" and unknown.status is not None and unknown.status < 400:
            # 2024-11-05 names no status; accepting it means another client's session may get it.
            problems.append(f"{unknown.sent} got HTTP {unknown.status}: accepted, not refused (expected 404 or 400)")
        elif transport != "sse" and unknown.status != 404:
            problems.append(f"{unknown.sent} got HTTP {unknown.status}, expected 404")
    shown = [s[:8] + "…" for s in given]
    if problems:
        found = [*problems, *([unanswered] if unanswered else [])]
        return _fail(check, service, "MCP07", "; ".join(dict.fromkeys(found)), replies, ids=shown)
    if unanswered:
        return _violation(check, service, "MCP07", unanswered, replies, "warn", ids=shown)
    return _pass(check, service, replies, ids=shown, length=len(given[0]))


# -- security.cors ------------------------------------------------------------------------------


def cors(service: str, transport: str, *, has_auth: bool, replies: Sequence[HttpReply]) -> CheckResult:
    """No `*` and no reflected foreign origin with credentials; on an authenticated endpoint a `*` fails."""
    check = "security.cors"
    if (skip := not_http(check, service, transport)) is not None:
        return skip
    answered = [r for r in replies if r.error is None]
    if not answered:
        return _no_answer(check, service, replies) or skipped(check, service, "no answer")
    problems: list[str] = []
    severity: Severity = "warn"
    for reply in answered:
        allow = (reply.header("access-control-allow-origin") or "").strip()
        credentials = (reply.header("access-control-allow-credentials") or "").strip().lower() == "true"
        if allow == "*":
            problems.append(f"{reply.sent}: Access-Control-Allow-Origin: * (any web page may call it)")
            severity = "fail" if has_auth else severity
        elif allow == FOREIGN_ORIGIN:
            problems.append(
                f"{reply.sent}: the foreign origin is reflected"
                + (" with Access-Control-Allow-Credentials: true" if credentials else "")
            )
            severity = "fail" if credentials or has_auth else severity
    if problems:
        return _violation(check, service, "MCP07", "; ".join(problems), answered, severity)
    return _pass(check, service, answered)
