"""The one HTTP client every provider uses: auth, request IDs, retries with backoff, error mapping.

Providers build a `PlatformClient` per platform. Every request goes through httpx's API; the
transport is chosen in one place (`network_client`: `httpx-aiohttp` on the network, an injected
`httpx.AsyncBaseTransport` such as `httpx.ASGITransport` for the in-process sandbox), never
monkeypatched. TLS verification is always on (one `ssl.SSLContext` with the configured CA
bundle, or certifi's, and the mTLS client certificate). Idempotent requests are retried on
temporary errors with exponential backoff and full jitter, honouring `Retry-After`; a 401 on an
authenticated call renews the credentials and repeats the call (at most `MAX_RENEWALS` times per
request, so an expiry mid-run never fails a call). Every request carries a fresh `X-Request-ID`
(kept across its retries) and the run's `X-Correlation-ID`, both written to the log.

A non-idempotent write announces the moment it is about to be written to a connection (`on_wire`,
see `base.WRITE_INTENT`): over the network, when aiohttp hands it an open connection (after the
TLS handshake); a failure before that is `errors.NotSent`, so the caller knows no byte of the
request reached the platform.

`LazyClient` gives a provider with one main `PlatformClient` its `client` (made on first use)
and `counters`.
"""

from __future__ import annotations

import asyncio
import contextvars
import email.utils
import json
import logging
import random
import ssl
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import aiohttp
import aiohttp.helpers
import certifi
import httpx
import httpx_aiohttp
import httpx_aiohttp.transport
from yarl import URL

from reconciler import __version__
from reconciler.providers import errors
from reconciler.providers.base import WRITE_INTENT

log = logging.getLogger("reconciler.http")

RUN_CORRELATION_ID = str(uuid.uuid4())
USER_AGENT = f"reconciler/{__version__}"
MAX_RENEWALS = 3
"""Credential renewals one request may trigger (each after a 401); bounded so that a platform
that refuses every fresh credential fails the call instead of looping."""




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

    def totals(self) -> dict[str, int]:
        """Reads, writes, retries and sign-ins so far (a provider's `counters`)."""
        return {"reads": self.reads, "writes": self.writes, "retries": self.retries, "auth": self.auth}


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


def tls_context(*, ca_bundle: Path | None = None, client_cert: Path | None = None,
                client_key: Path | None = None) -> ssl.SSLContext:
    """The verifying TLS context of a platform: its CA bundle (else certifi's) and the mTLS client
    certificate. There is no way to turn verification off."""
    ctx = ssl.create_default_context(cafile=str(ca_bundle) if ca_bundle else certifi.where())
    if client_cert is not None:
        ctx.load_cert_chain(str(client_cert), str(client_key) if client_key else None)
    return ctx


class _Wire:
    """What one request's transport reported: whether it got a connection to write on."""

    __slots__ = ("leaving", "on_wire")

    def __init__(self, on_wire: Callable[[], None] | None) -> None:
        self.leaving = False
        self.on_wire = on_wire


_WIRE: contextvars.ContextVar[_Wire | None] = contextvars.ContextVar("reconciler_wire", default=None)


async def _connection_ready(session: aiohttp.ClientSession, ctx: Any, params: Any) -> None:
    # aiohttp's trace: the request holds an open (new or reused) connection and is written next.
    wire = _WIRE.get()
    if wire is not None and not wire.leaving:
        wire.leaving = True
        if wire.on_wire is not None:
            wire.on_wire()


class _NetworkTransport(httpx_aiohttp.AiohttpTransport):
    """httpx-aiohttp's transport with the environment's proxy (HTTP(S)_PROXY, ALL_PROXY, NO_PROXY)
    looked up once per origin, instead of by aiohttp's `trust_env`, which on every request runs two
    look-ups in a worker thread (the proxy and `~/.netrc`, whose credentials would then be sent to
    a platform the configuration did not give them for) and so doubles the client's CPU per request."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._proxies: dict[tuple[str, str, int | None], tuple[URL | None, aiohttp.BasicAuth | None]] = {}

    def _proxy_for(self, url: URL) -> tuple[URL | None, aiohttp.BasicAuth | None]:
        key = (url.scheme, url.host or "", url.port)
        found = self._proxies.get(key)
        if found is None:
            try:
                found = aiohttp.helpers.get_env_proxy_for_url(url)
            except LookupError:
                found = (None, None)
            self._proxies[key] = found
        return found

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not isinstance(self.client, aiohttp.ClientSession):
            self.client = self.get_client()
        timeout = request.extensions.get("timeout", {})
        url = URL(str(request.url))   # as aiohttp makes it of the string the adapter hands it
        proxy, proxy_auth = self._proxy_for(url)
        data = request.content or None
        with httpx_aiohttp.transport.map_aiohttp_exceptions():
            response = await self.client.request(
                method=request.method, url=url, headers=request.headers, data=data,
                allow_redirects=False, auto_decompress=False, compress=False,
                timeout=aiohttp.ClientTimeout(sock_connect=timeout.get("connect"), sock_read=timeout.get("read"),
                                              connect=timeout.get("pool")),
                proxy=proxy, proxy_auth=proxy_auth,
            ).__aenter__()
            try:
                # Read whole at once (every answer is read whole): chunk by chunk through the
                # adapter's stream cost a tenth of the CPU of a GET.
                body = await response.read()
            finally:
                response.release()
        extensions: dict[str, Any] = {"http_version": b"HTTP/1.1"}
        if response.reason:
            extensions["reason_phrase"] = response.reason.encode()
        return httpx.Response(status_code=response.status, headers=response.raw_headers,
                              stream=httpx.ByteStream(body), request=request, extensions=extensions)


def network_transport(*, verify: ssl.SSLContext, max_connections: int,
                      transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncBaseTransport:
    """The one place the transport is chosen: `transport` when one is injected (the in-process
    sandbox), else `httpx-aiohttp` (aiohttp's connection pool and C HTTP parser under httpx's API)
    on the network, with the proxy variables of the environment honoured (HTTP(S)_PROXY, NO_PROXY).
    Chosen over httpx's own transport (httpcore) because it spends about half the CPU per request,
    which paces a plan of thousands of reads on a small machine (README, Benchmarks).
    aiohttp's trace hooks say when a request has a connection to be written on (`on_wire`); its
    errors are classified from aiohttp's own exception (`_transport_error`), not from the
    adapter's mapping, which reports a connection closed after sending as a connect timeout."""
    if transport is not None:
        return transport
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)

    def session() -> aiohttp.ClientSession:
        trace = aiohttp.TraceConfig()
        trace.on_connection_create_end.append(_connection_ready)
        trace.on_connection_reuseconn.append(_connection_ready)
        connector = aiohttp.TCPConnector(ssl=verify, limit=max_connections, keepalive_timeout=15.0)
        # trust_env stays off: the transport looks up the environment's proxies once per origin.
        return aiohttp.ClientSession(connector=connector, trust_env=False, trace_configs=[trace],
                                     auto_decompress=False)

    return _NetworkTransport(verify=verify, limits=limits, client=session)


def network_client(*, verify: ssl.SSLContext, timeout: float, max_connections: int,
                   transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """An `httpx.AsyncClient` over `network_transport`: its default headers, timeouts and cookie
    jar are what `PlatformClient` applies to each request it hands the transport."""
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    return httpx.AsyncClient(transport=network_transport(verify=verify, max_connections=max_connections,
                                                         transport=transport),
                             timeout=httpx.Timeout(timeout), verify=verify, limits=limits,
                             follow_redirects=False, trust_env=False)


def _transport_error(exc: BaseException, leaving: bool) -> type[errors.TransportError]:
    """Which failure `exc` (an httpx error, or aiohttp's under it) is: nothing sent, no answer in
    time after sending, or a connection lost while the request may have reached the platform."""
    if isinstance(exc.__cause__, aiohttp.ClientError | asyncio.TimeoutError):
        cause: BaseException = exc.__cause__   # aiohttp's own error, under the adapter's httpx one
        timed_out = isinstance(cause, aiohttp.ServerTimeoutError | asyncio.TimeoutError)
    else:
        cause, timed_out = exc, isinstance(exc, httpx.TimeoutException)
    if not leaving or isinstance(cause, aiohttp.ClientConnectorError | httpx.ConnectError | httpx.ConnectTimeout):
        return errors.NotSent
    return errors.RequestTimeout if timed_out else errors.TransportError


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
        self._verify = tls_context(ca_bundle=ca_bundle, client_cert=client_cert, client_key=client_key)
        self._timeout = timeout
        self._transport = transport
        self._traced = transport is None   # aiohttp reports when a request has a connection to write on
        self._concurrency = concurrency
        # One client and one pool of `concurrency` keep-alive connections; the semaphore bounds the
        # requests in flight (so none waits inside the pool, where timeouts would count).
        self._slots = asyncio.Semaphore(concurrency)
        self._inflight: set[asyncio.Task[Any]] = set()
        self._closed = False
        # Each request is built once as the client would build it (its default headers, timeouts
        # and cookies) and handed to the transport directly: the client's per-request machinery
        # (URL merge, auth and redirect flow, hooks, stream wrapping) cost a third of the CPU of a GET.
        self._wire_transport = network_transport(verify=self._verify, max_connections=concurrency,
                                                 transport=transport)
        self._client = network_client(verify=self._verify, timeout=timeout, max_connections=concurrency,
                                      transport=self._wire_transport)
        self._timeouts = self._client.timeout.as_dict()

    @property
    def concurrency(self) -> int:
        """How many requests this client sends at once."""
        return self._concurrency

    @property
    def auth_lock(self) -> asyncio.Lock:
        return self._auth_lock

    async def aclose(self) -> None:
        """Close every connection, also one still carrying a request (that request then fails
        with `errors.TransportError`)."""
        self._closed = True
        for task in list(self._inflight):
            task.cancel()
        await self._client.aclose()

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self.base_url + "/" + path.lstrip("/")

    async def send_raw(self, method: str, path: str, *, json_body: Any = None,
                       headers: dict[str, str] | None = None, idempotent: bool = True) -> Response:
        """One request with retries but no auth (used by the auth strategies themselves)."""
        return await self._send(method, path, json_body, headers or {}, idempotent, authenticated=False)

    async def request(self, method: str, path: str, *, json_body: Any = None, idempotent: bool | None = None,
                      headers: dict[str, str] | None = None) -> Response:
        """An authenticated request. Raises an `errors.PlatformError` subclass on failure.

        A DELETE repeated after an attempt that may have reached the platform (no reliable answer)
        and then answered 404 returns that 404 as a `Response`: the object is gone, as wanted."""
        if idempotent is None:
            idempotent = method != "POST"
        return await self._send(method, path, json_body, headers or {}, idempotent, authenticated=True)

    async def _send(self, method: str, path: str, json_body: Any, extra: dict[str, str], idempotent: bool,
                    authenticated: bool) -> Response:
        request_id = str(uuid.uuid4())
        attempt = 0
        renewals = 0
        used: str | None = None
        reached = False   # whether an earlier attempt may have reached the platform
        on_wire = None if idempotent else WRITE_INTENT.get()
        while True:
            attempt += 1
            try:
                headers = {"X-Request-ID": request_id, "X-Correlation-ID": RUN_CORRELATION_ID,
                           "User-Agent": USER_AGENT, "Accept": "application/json", **extra}
                if json_body is not None:
                    headers["Content-Type"] = "application/json"
                if authenticated:
                    headers.update(await self.auth.headers(self))
                    used = headers.get("Authorization")
                return await self._once(method, path, json_body, headers, request_id, on_wire)
            except errors.AuthError as exc:
                if not authenticated or exc.status != 401 or renewals >= MAX_RENEWALS:
                    raise
                # The credential expired or was revoked (a 401 means the request was not processed):
                # renew it and repeat, however often it expires during a run, up to MAX_RENEWALS.
                renewals += 1
                attempt -= 1   # a renewal is not a retry: it does not use up `retries`
                self.auth.invalidate(used)
                log.info("%s %s: 401, renewing credentials (%d/%d)", method, path, renewals, MAX_RENEWALS)
                continue
            except errors.NotFound as exc:
                if method == "DELETE" and reached:
                    # An earlier attempt may have deleted it and its answer was lost: gone is what was wanted.
                    log.info("%s %s: 404 on a repeated DELETE: already deleted", method, path)
                    return Response(404, exc.body, {}, request_id, exc.correlation_id)
                raise
            except errors.PlatformError as exc:
                if not idempotent and exc.temporary and not _refused_before_processing(exc):
                    # Whether or not retries are left: the platform may hold the result.
                    raise errors.OutcomeUnknown(
                        f"no reliable answer to a non-idempotent request ({exc.message}); it may or may "
                        "not have taken effect", platform=self.platform, method=method, path=path,
                        request_id=request_id) from exc
                if not exc.temporary or attempt > self.retries:
                    raise
                reached = reached or not isinstance(exc, errors.NotSent)
                delay = self._delay(attempt, exc)
                self.counters.retries += 1
                log.info("%s %s: %s; retry %d/%d in %.2fs (X-Request-ID %s)", method, path, exc.message,
                         attempt, self.retries, delay, request_id)
                await asyncio.sleep(delay)

    async def _exchange(self, method: str, url: str, content: str | None, headers: dict[str, str]) -> httpx.Response:
        """One request and its whole answer, as `httpx.AsyncClient.request` would send and read it
        (the client's default headers under ours, its timeouts, its cookie jar), on the transport."""
        client = self._client
        if client.is_closed:
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        merged = client.headers.copy()
        merged.update(headers)
        cookies = client.cookies
        request = httpx.Request(method, url, content=content, headers=merged, cookies=cookies or None,
                                extensions={"timeout": self._timeouts})
        resp = await self._wire_transport.handle_async_request(request)
        resp.request = request
        try:
            await resp.aread()
        finally:
            await resp.aclose()
        if "set-cookie" in resp.headers:
            cookies.extract_cookies(resp)
        return resp

    def _delay(self, attempt: int, exc: errors.PlatformError) -> float:
        if isinstance(exc, errors.RateLimited) and exc.retry_after is not None:
            return min(exc.retry_after, self.max_delay * 4)
        cap = min(self.max_delay, self.retry_delay * (2 ** (attempt - 1)))
        return random.uniform(cap / 2, cap)  # noqa: S311 - jitter, not security

    async def _once(self, method: str, path: str, json_body: Any, headers: dict[str, str],
                    request_id: str, on_wire: Callable[[], None] | None) -> Response:
        url = self.url(path)
        content = None if json_body is None else json.dumps(json_body, separators=(",", ":"))
        ctx = dict(platform=self.platform, method=method, path=path, request_id=request_id)
        await self._slots.acquire()
        wire = _Wire(on_wire)
        if not self._traced:
            # An injected transport carries the request at once: it leaves when handed over.
            wire.leaving = True
            if on_wire is not None:
                on_wire()
        token = _WIRE.set(wire)
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
        try:
            self.counters.count(method)
            started = time.monotonic()
            try:
                resp = await self._exchange(method, url, content, headers)
            except asyncio.CancelledError:
                if not self._closed or task is None:
                    raise
                task.uncancel()   # cancelled by aclose: the request failed, the caller goes on
                raise _transport_error(ConnectionAbortedError(), wire.leaving)(
                    "connection closed: the client was shut down", **ctx) from None
            except (httpx.TransportError, aiohttp.ClientError, ssl.SSLError, OSError) as exc:
                cls = _transport_error(exc, wire.leaving)
                raise cls("no answer in time" if cls is errors.RequestTimeout else
                          f"connection failed: {_describe(exc.__cause__ or exc)}", **ctx) from exc
        finally:
            _WIRE.reset(token)
            self._inflight.discard(task)
            self._slots.release()
        status = resp.status_code
        resp_headers = resp.headers
        corr = resp_headers.get("x-correlation-id")
        log.info("%s %s -> %d in %.0f ms (X-Request-ID %s, X-Correlation-ID %s)", method, path,
                 status, (time.monotonic() - started) * 1000, request_id, corr or RUN_CORRELATION_ID)
        raw = resp.content
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
        if status < 400:
            return Response(status, body, resp_headers, request_id, corr)
        message = reason_of(body) or resp.reason_phrase or f"HTTP {status}"
        kw: dict[str, Any] = dict(status=status, body=body, correlation_id=corr, **ctx)
        if status in (401, 403):
            auth_error = errors.AuthError(f"HTTP {status}: {message}", **kw)
            auth_error.detail = (f"Platform '{self.platform}' refused the credentials: check its token, key or "
                                 "password, and that its url is the right environment." if status == 401 else
                                 f"Platform '{self.platform}' refused access to {path} with these credentials.")
            raise auth_error
        if status == 404:
            raise errors.NotFound(f"HTTP 404: {message}", **kw)
        if status == 429:
            raise errors.RateLimited(f"HTTP 429: {message}",
                                     retry_after=retry_after_seconds(resp_headers.get("retry-after")), **kw)
        if status >= 500:
            raise errors.ServerError(f"HTTP {status}: {message}", **kw)
        raise errors.ClientError(f"HTTP {status}: {message}", **kw)


class LazyClient:
    """A provider's main `PlatformClient`, made by its `_make_client` on first use (`_client` is
    None until then, and again once the provider closes it)."""

    _client: PlatformClient | None = None

    def _make_client(self) -> PlatformClient:
        raise NotImplementedError

    @property
    def client(self) -> PlatformClient:
        if self._client is None:
            self._client = self._make_client()
        return self._client

    def counters(self) -> dict[str, int]:
        """What the client sent so far (nothing before it is made)."""
        return {} if self._client is None else self._client.counters.totals()


def _refused_before_processing(exc: errors.PlatformError) -> bool:
    """A temporary failure that leaves nothing done: no connection (nothing sent), or a 429/503."""
    if isinstance(exc, errors.NotSent):
        return True
    return isinstance(exc, errors.RateLimited | errors.ServerError) and exc.status in (429, 503)


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


REASON_LIMIT = 300
"""Characters of a platform's reason kept in a message (the rest is cut with an ellipsis)."""


def _cut(text: str, limit: int = REASON_LIMIT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _reason_item(item: Any) -> str | None:
    """One entry of a `detail` / `errors` list: FastAPI's {"loc": [...], "msg": ...} or a string."""
    if isinstance(item, str):
        return item.strip() or None
    if isinstance(item, dict):
        msg = item.get("msg") or item.get("message") or item.get("detail") or item.get("error")
        if not isinstance(msg, str) or not msg:
            return None
        loc = item.get("loc")
        if isinstance(loc, list | tuple) and loc:
            where = ".".join(str(p) for p in loc if p not in ("body",)) or ".".join(str(p) for p in loc)
            return f"{where}: {msg}"
        return msg
    return None


def reason_of(body: Any) -> str | None:
    """The platform's reason for a failure, readable and cut to `REASON_LIMIT` characters: OCPI's
    `status_message` (with its status_code), a JSON `detail` / `message` / `error` (a string, an
    object or a list such as FastAPI's 422 detail list), or a plain-text body."""
    if isinstance(body, dict):
        for key in ("status_message", "message", "error_description", "detail", "error", "errors"):
            val = body.get(key)
            text: str | None = None
            if isinstance(val, str):
                text = val.strip() or None
            elif isinstance(val, list):
                parts = [p for p in (_reason_item(v) for v in val) if p]
                text = "; ".join(parts) or None
            elif isinstance(val, dict):
                text = _reason_item(val)
            if text:
                code = body.get("status_code")
                if key == "status_message" and isinstance(code, int):
                    text = f"{text} (status_code {code})"
                return _cut(text)
        return None
    if isinstance(body, str) and body.strip():
        return _cut(body)
    return None
