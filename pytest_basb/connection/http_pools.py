"""HTTP connection pools for MCP sessions: one pool per origin, one TLS context per process.

httpcore scans every connection of a pool (a socket syscall each) whenever it assigns a request,
so a single pool shared by hundreds of services costs O(services) per request. A pool per origin
keeps that scan to the connections of one server; the TLS context (loading the CA bundle costs
milliseconds) is built once, and only when a service speaks https.
"""

from __future__ import annotations

import ssl

import httpx2


class OriginPools(httpx2.AsyncBaseTransport):
    """Routes each request to the pool of its origin (scheme, host, port)."""

    def __init__(self) -> None:
        self._pools: dict[tuple[bytes, bytes, int | None], httpx2.AsyncHTTPTransport] = {}
        self._tls: ssl.SSLContext | None = None
        self._plain = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # never used to connect: no CA load

    def _pool_for(self, url: httpx2.URL) -> httpx2.AsyncHTTPTransport:
        origin = (url.raw_scheme, url.raw_host, url.port)
        pool = self._pools.get(origin)
        if pool is None:
            verify = self._plain
            if url.scheme == "https":
                if self._tls is None:
                    self._tls = ssl.create_default_context()
                verify = self._tls
            pool = httpx2.AsyncHTTPTransport(verify=verify, limits=httpx2.Limits(max_connections=None))
            self._pools[origin] = pool
        return pool

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        return await self._pool_for(request.url).handle_async_request(request)

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()


class LentPools(httpx2.AsyncBaseTransport):
    """Lends the process's pools to one session's client; closing the client leaves them open."""

    def __init__(self, pools: OriginPools) -> None:
        self._pools = pools

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        return await self._pools.handle_async_request(request)

    async def aclose(self) -> None:
        return None
