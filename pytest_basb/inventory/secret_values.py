"""Which resolved inventory values are secrets, so the Redactor masks those and nothing else.

Masked: header values (a `${VAR}` in one, or a header whose name says secret, e.g. Authorization),
the userinfo and query values of a URL, `env` values whose variable name says secret, any `${VAR}`
whose variable name says secret wherever it is used, and the variables a service lists under
`secrets:`. Ports, paths, modes and names stay readable in messages and reports.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

SECRET_WORDS = ("TOKEN", "SECRET", "PASSWORD", "KEY", "AUTH", "CREDENTIAL", "COOKIE")
URL_FIELDS = ("url", "health_url", "metrics_url")
_BEARER_SCHEMES = ("bearer", "basic", "token")


def says_secret(name: str) -> bool:
    """A variable or header name that names a secret: API_TOKEN, X-Api-Key, Authorization, ..."""
    upper = name.upper()
    return any(word in upper for word in SECRET_WORDS)


def service_secrets(
    key: str, resolved: Mapping[str, Any], uses: Iterable[tuple[str, str, str]], environ: Mapping[str, str]
) -> set[str]:
    """The secret values of one resolved service. `key`: its key path; `uses`: (key path, variable,
    value) of each `${VAR}` substituted into it."""
    found: set[str] = set()
    from_variables = set()
    for where, variable, value in uses:
        relative = where.removeprefix(f"{key}.")
        from_variables.add(relative)
        if says_secret(variable) or relative.startswith("headers.") or _secret_env_entry(relative):
            found.add(value)
    for name, value in (resolved.get("headers") or {}).items():
        if says_secret(name) or f"headers.{name}" in from_variables:
            found |= _header_secrets(str(value))
    container = resolved.get("container") or {}
    for env in (resolved.get("env") or {}, container.get("env") or {}):
        found |= {str(value) for name, value in env.items() if says_secret(str(name))}
    for field in URL_FIELDS:
        if resolved.get(field):
            found |= url_secrets(str(resolved[field]))
    found |= {environ[name] for name in resolved.get("secrets") or () if name in environ}
    return {value for value in found if value}


def _secret_env_entry(relative: str) -> bool:
    """`env.API_TOKEN` or `container.env.API_TOKEN`."""
    for prefix in ("env.", "container.env."):
        if relative.startswith(prefix):
            return says_secret(relative.removeprefix(prefix))
    return False


def _header_secrets(value: str) -> set[str]:
    """The value, and the credential alone after a scheme (`Bearer <token>`)."""
    scheme, _, credential = value.partition(" ")
    if credential.strip() and scheme.lower() in _BEARER_SCHEMES:
        return {value, credential.strip()}
    return {value}


def url_secrets(url: str) -> set[str]:
    """A URL's user name and password, and every query value."""
    try:
        parts = urlsplit(url)
        username, password = parts.username, parts.password
    except ValueError:  # a malformed URL: its own check reports it
        return set()
    found = {value for value in (username, password) if value}
    found |= {value for _, value in parse_qsl(parts.query, keep_blank_values=False) if value}
    return found
