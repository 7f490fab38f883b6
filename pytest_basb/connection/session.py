"""What the checks see of a service: its handshake, cached listings, and the first failure.

A `ServiceSession` wraps one `Connection` (client.py). Listings come from the prefetch or are
fetched once; a failed listing is remembered, not asked again. Once the session breaks (no
handshake, timeout, connection lost, oversized reply) every later request fails at once, citing the
check that first met the failure: one deadline per broken service, not one per check.
No `mcp` import here: the operations themselves live in requests.py.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from pytest_basb.connection.speculation import speculation_key
from pytest_basb.model.mcp_data import Handshake, ServiceError, ToolCallOutcome

if TYPE_CHECKING:
    from pytest_basb.connection.client import Connection
    from pytest_basb.connection.runtime import McpRuntime
    from pytest_basb.connection.wire import Transcript
    from pytest_basb.targets.base import Endpoint

T = TypeVar("T")


class ServiceSession:
    """One service's MCP session for every check of this process."""

    def __init__(self, runtime: McpRuntime, connection: Connection) -> None:
        self._runtime = runtime
        self._connection = connection
        self._listings: dict[str, tuple[list[dict[str, Any]], int] | ServiceError] = {}
        self._broken: ServiceError | None = None
        self._blamed: str | None = None  # the check that reported the first failure
        # The check that reports a failed connection, when it runs in this process (health.handshake):
        # whichever check meets the failure first, the cause is reported once, by that check.
        self.cause_check: str | None = None
        self.current_check: str | None = None  # set by the harness for each test
        self.last_duration_s = 0.0  # of the last request (also when its answer was sent ahead)

    @property
    def endpoint(self) -> Endpoint:
        return self._connection.endpoint

    @property
    def timeout_s(self) -> float:
        return self._connection.timeout_s

    @property
    def transcript(self) -> Transcript:
        return self._connection.transcript

    @property
    def connection(self) -> Connection:
        return self._connection

    # -- connection -------------------------------------------------------------------------

    def handshake(self) -> Handshake:
        """Connect if not yet connected (a prefetch usually did); a failure is remembered.

        A handshake that succeeded stays readable after a later request broke the session: what
        the server declared (capabilities, version) is still known, so a check of a capability
        it does not declare skips instead of being blocked.
        """
        connection = self._connection
        if connection.handshake is None:
            self._check_broken()
        if not connection.started:
            self._runtime.open_all([connection], prefetch=False)
        if connection.failure is not None:
            self._fail(connection.failure)
        assert connection.handshake is not None
        if not self._listings and connection.prefetched:
            self._listings.update(connection.prefetched)
        return connection.handshake

    def stderr_tail(self, lines: int = 8) -> str:
        return self._connection.stderr_tail(lines)

    # -- requests ---------------------------------------------------------------------------

    def liveness(self) -> float:
        """`ping` on legacy sessions, `server/discover` on modern ones; returns seconds taken."""
        from pytest_basb.connection import requests

        era = self.handshake().era
        self._run("ping" if era == "legacy" else "server/discover", requests.liveness, era)
        return self.last_duration_s

    def tools(self) -> list[dict[str, Any]]:
        return self._listing("tools/list")

    def resources(self) -> list[dict[str, Any]]:
        return self._listing("resources/list")

    def prompts(self) -> list[dict[str, Any]]:
        return self._listing("prompts/list")

    def pages(self, method: str) -> int:
        """How many pages the full listing of `method` took (0 when it was not listed)."""
        listing = self._listings.get(method)
        return listing[1] if isinstance(listing, tuple) else 0

    def call_tool(self, name: str, arguments: dict[str, Any] | None = None) -> ToolCallOutcome:
        """Call a tool; a JSON-RPC error answer is data for the checks, a broken exchange raises."""
        from pytest_basb.connection import requests

        return self._run(f"tools/call {name}", requests.call_tool, name, arguments)

    def read_resource(self, uri: str) -> list[dict[str, Any]]:
        from pytest_basb.connection import requests

        return self._run(f"resources/read {uri}", requests.read_resource, uri)

    def get_prompt(self, name: str, arguments: dict[str, str] | None = None) -> list[dict[str, Any]]:
        from pytest_basb.connection import requests

        return self._run(f"prompts/get {name}", requests.get_prompt, name, arguments)

    def _listing(self, method: str) -> list[dict[str, Any]]:
        """The full listing, fetched once per session; a failed one is re-raised, not re-asked."""
        from pytest_basb.connection import requests

        self.handshake()
        if method not in self._listings:
            self._check_broken()
            try:
                self._listings[method] = self._connection.run(method, requests.list_all, method)
            except ServiceError as exc:
                self._listings[method] = exc
        listing = self._listings[method]
        if isinstance(listing, ServiceError):
            self._fail(listing)
        return list(listing[0])

    def _run(self, what: str, operation: Callable[..., Awaitable[T]], *args: Any) -> T:
        self.handshake()
        self._check_broken()
        sent_ahead = self._connection.take_speculated(speculation_key(self.current_check, operation.__name__, args))
        if sent_ahead is not None:
            answer, self.last_duration_s = sent_ahead
            if isinstance(answer, ServiceError):
                self._fail(answer)
            result: T = answer
            return result
        started = time.perf_counter()
        try:
            return self._connection.run(what, operation, *args)
        except ServiceError as exc:
            self._fail(exc)
        finally:
            self.last_duration_s = time.perf_counter() - started

    # -- failures ---------------------------------------------------------------------------

    def _fail(self, error: ServiceError) -> NoReturn:
        """Raise `error`; if it broke the session, later requests are refused at once."""
        from pytest_basb.connection.client import BREAKING

        if error.kind in BREAKING and self._broken is None:
            self._broken = error
        if error is self._broken:
            self._check_broken()
        raise error

    def _check_broken(self) -> None:
        broken = self._broken
        if broken is None:
            return
        if self._blamed is None:
            never_connected = self._connection.handshake is None
            self._blamed = self.cause_check if never_connected and self.cause_check else self.current_check
        if self._blamed == self.current_check:
            raise broken
        raise blocked(self._blamed, broken)


def blocked(cause_check: str | None, cause: ServiceError) -> ServiceError:
    """The failure a check meets when `cause_check` reports the cause (its first line is repeated)."""
    first_line = str(cause).splitlines()[0]
    return ServiceError(f"blocked by {cause_check}: {first_line}", kind=cause.kind, blocked_by=cause_check)
