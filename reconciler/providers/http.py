"""The one HTTP client every provider uses: auth, request IDs, retries with backoff, error mapping.

Providers build a `PlatformClient` per platform; the transport is injected (an `httpx.ASGITransport`
for the in-process sandbox, the network otherwise), never monkeypatched. TLS verification is always
on. Idempotent requests are retried on temporary errors with exponential backoff and full jitter,
honouring `Retry-After`; a 401 on an authenticated call renews the credentials once and repeats
the call. Every request carries a fresh `X-Request-ID` (kept across its retries) and the run's
`X-Correlation-ID`, both written to the log.

Requests to the platform's own origin over the network go through `http1` (lean keep-alive
HTTP/1.1 connections, one per concurrency slot); in-process transports, proxies configured in the
environment and other hosts go through httpx.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import ssl
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import certifi
import httpx

from reconciler import __version__
from reconciler.providers import errors, http1

log = logging.getLogger("reconciler.http")

RUN_CORRELATION_ID = str(uuid.uuid4())
USER_AGENT = f"reconciler/{__version__}"


@dataclass
class Response:
    status: int
    body: Any
    headers: Mapping[str, str]
    request_id: str
    correlation_id: str | None


@dataclass
class Counters:
    reads: int = 0
    writes: int = 0
    retries: int = 0
    auth: int = 0
    by_method: dict[str, int] = field(default_factory=dict)

    def count(self, method: str) -> None:
        self.by_method[method] = self.by_method.get(method, 0) + 1
        if method == "GET":
            self.reads += 1
        else:
            self.writes += 1


class Auth(Protocol):
    """How a platform's requests are authenticated."""

    async def headers(self, client: PlatformClient) -> dict[str, str]: ...

    def invalidate(self, rejected: str | None) -> None:
        """Forget the credential, if it is still the one that was `rejected` (an Authorization value)."""


class NoAuth:
    async def headers(self, client: PlatformClient) -> dict[str, str]:
        return {}

    def invalidate(self, rejected: str | None) -> None:
        return None


def retry_after_seconds(value: str | None) -> float | None:
    """`Retry-After` as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class PlatformClient:
    """An async client for one platform, bounded to `concurrency` requests at once."""

    def __init__(self, *, platform: str, base_url: str, auth: Auth | None = None,
                 transport: httpx.AsyncBaseTransport | None = None, timeout: float = 30.0,
                 retries: int = 5, retry_delay: float = 0.5, max_delay: float = 30.0, concurrency: int = 16,
                 client_cert: Path | None = None, client_key: Path | None = None,
                 ca_bundle: Path | None = None) -> None:
        self.platform = platform
        self.base_url = base_url.rstrip("/")
        self.auth: Auth = auth or NoAuth()
        self.retries = retries
        self.retry_delay = retry_delay
        self.max_delay = max_delay
        self.counters = Counters()
        self._auth_lock = asyncio.Lock()
        # One TLS context for every connection (loading the CA bundle is costly); verification is always on.
        verify = ssl.create_default_context(cafile=str(ca_bundle) if ca_bundle else certifi.where())
        if client_cert is not None:
            verify.load_cert_chain(str(client_cert), str(client_key) if client_key else None)
        self._verify = verify
        self._timeout = timeout
        self._transport = transport
        # Over the network to the platform's own origin, each slot is one lean keep-alive
        # connection (`http1`); otherwise one single-connection httpx client per slot: httpcore's
        # pool rescans every queued request against every connection on each event, which costs
        # more CPU than the request itself at thousands of requests. The slot queue also bounds
        # the requests in flight.
        origin = http1.Origin.of(self.base_url) if transport is None else None
        self._origin = None if origin is None or origin.proxied() else origin
        self._slots: asyncio.Queue[http1.Connection | httpx.AsyncClient] = asyncio.Queue()
        self._fallback: httpx.AsyncClient | None = None
        self._concurrency = concurrency
        # Every slot, wherever it is (in the queue or carrying a request), so aclose reaches them all.
        self._every_slot: list[http1.Connection | httpx.AsyncClient] = [
            http1.Connection(self._origin, ssl_context=verify, timeout=timeout) if self._origin is not None
            else self._httpx_client(max_connections=1) for _ in range(concurrency)]
        for slot in self._every_slot:
            self._slots.put_nowait(slot)

    def _httpx_client(self, max_connections: int) -> httpx.AsyncClient:
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        return httpx.AsyncClient(transport=self._transport, timeout=httpx.Timeout(self._timeout), verify=self._verify,
                                 limits=limits, follow_redirects=False)

    @property
    def concurrency(self) -> int:
        """How many requests this client sends at once."""
        return self._concurrency

    @property
    def auth_lock(self) -> asyncio.Lock:
        return self._auth_lock

    async def aclose(self) -> None:
        """Close every connection, also one still carrying a request (that request then fails)."""
        for slot in self._every_slot:
            await slot.aclose()
        if self._fallback is not None:
            await self._fallback.aclose()
            self._fallback = None

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self.base_url + "/" + path.lstrip("/")

    async def send_raw(self, method: str, path: str, *, json_body: Any = None,
                       headers: dict[str, str] | None = None, idempotent: bool = True) -> Response:
        """One request with retries but no auth (used by the auth strategies themselves)."""
        return await self._send(method, path, json_body, headers or {}, idempotent, authenticated=False)

    async def request(self, method: str, path: str, *, json_body: Any = None, idempotent: bool | None = None,
                      headers: dict[str, str] | None = None) -> Response:
        """An authenticated request. Raises an `errors.PlatformError` subclass on failure."""
        if idempotent is None:
            idempotent = method != "POST"
        return await self._send(method, path, json_body, headers or {}, idempotent, authenticated=True)

    async def _send(self, method: str, path: str, json_body: Any, extra: dict[str, str], idempotent: bool,
                    authenticated: bool) -> Response:
        request_id = str(uuid.uuid4())
        attempt = 0
        reauthed = False
        used: str | None = None
        while True:
            attempt += 1
            try:
                headers = {"X-Request-ID": request_id, "X-Correlation-ID": RUN_CORRELATION_ID,
                           "User-Agent": USER_AGENT,
                           "Accept": "application/json", **extra}
                if json_body is not None:
                    headers["Content-Type"] = "application/json"
                if authenticated:
                    headers.update(await self.auth.headers(self))
                    used = headers.get("Authorization")
                return await self._once(method, path, json_body, headers, request_id, idempotent)
            except errors.AuthError:
                if not authenticated or reauthed:
                    raise
                # The token expired or was revoked: renew once; a 401 means the request was not processed.
                reauthed = True
                self.auth.invalidate(used)
                log.info("%s %s: 401, renewing credentials", method, path)
                continue
            except errors.PlatformError as exc:
                if not exc.temporary or attempt > self.retries:
                    raise
                if not idempotent:
                    if isinstance(exc, errors.RateLimited | errors.ServerError) and exc.status in (429, 503):
                        pass  # refused before processing: safe to repeat
                    elif isinstance(exc, errors.NotSent):
                        pass  # never left this machine
                    else:
                        raise errors.OutcomeUnknown(
                            f"no reliable answer to a non-idempotent request ({exc.message}); it may or may "
                            "not have taken effect", platform=self.platform, method=method, path=path,
                            request_id=request_id) from exc
                delay = self._delay(attempt, exc)
                self.counters.retries += 1
                log.info("%s %s: %s; retry %d/%d in %.2fs (X-Request-ID %s)", method, path, exc.message,
                         attempt, self.retries, delay, request_id)
                await asyncio.sleep(delay)

    def _delay(self, attempt: int, exc: errors.PlatformError) -> float:
        if isinstance(exc, errors.RateLimited) and exc.retry_after is not None:
            return min(exc.retry_after, self.max_delay * 4)
        cap = min(self.max_delay, self.retry_delay * (2 ** (attempt - 1)))
        return random.uniform(cap / 2, cap)  # noqa: S311 - jitter, not security

    async def _once(self, method: str, path: str, json_body: Any, headers: dict[str, str],
                    request_id: str, idempotent: bool) -> Response:
        url = self.url(path)
        content = None if json_body is None else json.dumps(json_body, separators=(",", ":"))
        ctx = dict(platform=self.platform, method=method, path=path, request_id=request_id)
        slot = await self._slots.get()
        try:
            self.counters.count(method)
            started = time.monotonic()
            if isinstance(slot, http1.Connection) and self._same_origin(url):
                status, reason, resp_headers, raw = await self._http1(slot, method, url, headers, content, ctx,
                                                                      idempotent)
            else:
                status, reason, resp_headers, raw = await self._httpx(slot, method, url, headers, content, ctx)
        finally:
            self._slots.put_nowait(slot)
        corr = resp_headers.get("x-correlation-id")
        log.info("%s %s -> %d in %.0f ms (X-Request-ID %s, X-Correlation-ID %s)", method, path,
                 status, (time.monotonic() - started) * 1000, request_id, corr or RUN_CORRELATION_ID)
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")[:500]
        if status < 400:
            return Response(status, body, resp_headers, request_id, corr)
        message = _message(body) or reason or f"HTTP {status}"
        kw: dict[str, Any] = dict(status=status, body=body, correlation_id=corr, **ctx)
        if status in (401, 403):
            raise errors.AuthError(f"HTTP {status}: {message}", **kw)
        if status == 404:
            raise errors.NotFound(f"HTTP 404: {message}", **kw)
        if status == 429:
            raise errors.RateLimited(f"HTTP 429: {message}",
                                     retry_after=retry_after_seconds(resp_headers.get("retry-after")), **kw)
        if status >= 500:
            raise errors.ServerError(f"HTTP {status}: {message}", **kw)
        raise errors.ClientError(f"HTTP {status}: {message}", **kw)


    def _same_origin(self, url: str) -> bool:
        return url.startswith(self.base_url + "/") or http1.Origin.of(url) == self._origin

    async def _http1(self, conn: http1.Connection, method: str, url: str, headers: dict[str, str],
                     content: str | None, ctx: dict[str, Any],
                     idempotent: bool) -> tuple[int, str, Mapping[str, str], bytes]:
        headers = {**headers, "Accept-Encoding": "gzip, deflate"}
        try:
            resp = await conn.request(method, url, headers, None if content is None else content.encode(),
                                      resend_if_closed=idempotent)
        except http1.Http1Error as exc:
            cls: type[errors.TransportError] = (
                errors.NotSent if not exc.sent else
                errors.RequestTimeout if isinstance(exc, http1.Http1Timeout) else errors.TransportError)
            raise cls(f"connection failed: {exc}", **ctx) from exc
        return resp.status, resp.reason, resp.headers, resp.content

    async def _httpx(self, slot: http1.Connection | httpx.AsyncClient, method: str, url: str,
                     headers: dict[str, str], content: str | None,
                     ctx: dict[str, Any]) -> tuple[int, str, Mapping[str, str], bytes]:
        if isinstance(slot, httpx.AsyncClient):
            client = slot
        else:  # another host than the platform's (a URL a platform announced): a shared httpx pool
            if self._fallback is None:
                self._fallback = self._httpx_client(max_connections=self._concurrency)
            client = self._fallback
        try:
            resp = await client.request(method, url, content=content, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise errors.NotSent(f"connection failed: {type(exc).__name__}: {exc}", **ctx) from exc
        except httpx.TimeoutException as exc:
            raise errors.RequestTimeout("no answer in time", **ctx) from exc
        except httpx.TransportError as exc:
            raise errors.TransportError(f"connection failed: {type(exc).__name__}: {exc}", **ctx) from exc
        return resp.status_code, resp.reason_phrase, resp.headers, resp.content


def _message(body: Any) -> str | None:
    if isinstance(body, dict):
        for key in ("status_message", "message", "error_description", "error", "detail"):
            val = body.get(key)
            if isinstance(val, str) and val:
                code = body.get("status_code")
                return f"{val} (status_code {code})" if isinstance(code, int) and key == "status_message" else val
    if isinstance(body, str) and body.strip():
        return body.strip()[:300]
    return None
