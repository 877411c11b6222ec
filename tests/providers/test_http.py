"""`PlatformClient` on the production transport (httpx over httpx-aiohttp) against real loopback servers.

The server below (`Server`) is an `asyncio.start_server` on 127.0.0.1 whose answers are scripted per
test as exact raw bytes; it records the exact bytes of every request it read and how many
connections were opened; it can also serve TLS (a throwaway CA from trustme), with or without
requiring a client certificate. Every test asserts what a user of the client would notice:
status, decoded body, headers, the bytes on the wire, connections, and the exception it raises.
"""

from __future__ import annotations

import asyncio
import gzip
import socket
import ssl
import time
import uuid
from collections.abc import Awaitable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import trustme

from reconciler.providers import errors, http
from reconciler.providers.http import RUN_CORRELATION_ID, PlatformClient

T = TypeVar("T")

PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUEST_METHOD")


@pytest.fixture(autouse=True)
def _no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the machine's environment, these tests start without any proxy configured."""
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


# -- the scripted server ------------------------------------------------------------------------

DROP = "drop"  # read the request, then close the connection without answering
HANG = "hang"  # read the request, then never answer


@dataclass
class Say:
    """One answer: raw bytes written as given (floats in `parts` are pauses, in seconds)."""

    parts: list[bytes | float]
    close: bool = False  # close the connection after writing the answer

    @classmethod
    def of(cls, data: bytes, *, close: bool = False) -> Say:
        return cls([data], close=close)


Answer = bytes | Say | str


class Server:
    """A loopback HTTP server answering the requests it reads, in order, with `answers`
    (across connections); with no answer left it closes the connection."""

    def __init__(self, answers: Sequence[Answer] = (), *, tls: ssl.SSLContext | None = None) -> None:
        self.answers = list(answers)
        self.tls = tls
        self.requests: list[bytes] = []  # the exact bytes of every request read, in order
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._writers: list[asyncio.StreamWriter] = []

    @property
    def port(self) -> int:
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    def url(self, path: str = "/") -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}{path}"

    async def __aenter__(self) -> Server:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for w in self._writers:
            w.close()
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.append(writer)
        try:
            for _ in range(100):  # bounded: no test sends that many requests on one connection
                request = await read_request(reader)
                if request is None:
                    return
                self.requests.append(request)
                answer = self.answers.pop(0) if self.answers else DROP
                if isinstance(answer, str):  # DROP or HANG
                    if answer == HANG:
                        await asyncio.sleep(60)
                    return
                say = answer if isinstance(answer, Say) else Say.of(answer)
                for part in say.parts:
                    if isinstance(part, float):
                        await asyncio.sleep(part)
                    else:
                        writer.write(part)
                        await writer.drain()
                if say.close:
                    return
        except (ConnectionError, ssl.SSLError, asyncio.CancelledError):
            return  # the test is over (the server cancels its handlers) or the client went away
        finally:
            writer.close()


async def read_request(reader: asyncio.StreamReader) -> bytes | None:
    """The raw bytes of one request (head and Content-Length body), None at the end of the stream."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
    try:
        body = await reader.readexactly(length) if length else b""
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    return head + body


def parse(raw: bytes) -> tuple[str, dict[str, str], bytes]:
    """A recorded request as (request line, lower-cased header names -> values, body)."""
    head, _, body = raw.partition(b"\r\n\r\n")
    line, *rest = head.decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    for h in rest:
        name, _, value = h.partition(":")
        assert name.lower() not in headers, f"header {name} sent twice"
        headers[name.lower()] = value.strip()
    return line, headers, body


def answer(body: bytes = b"", status: str = "200 OK", *headers: str, version: str = "HTTP/1.1",
           length: bool = True) -> bytes:
    lines = [f"{version} {status}", *headers]
    if length:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


OK = answer(b"ok")


def run(coro: Awaitable[T]) -> T:
    """Run one test body on a fresh event loop, bounded so that no test can hang."""
    async def bounded() -> T:
        return await asyncio.wait_for(coro, 5)
    return asyncio.run(bounded())


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A loopback port that refuses connections (bound, never listening, so nobody else takes it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield s.getsockname()[1]



def platform_client(server_or_port: Server | int, **kw: Any) -> PlatformClient:
    port = server_or_port if isinstance(server_or_port, int) else server_or_port.port
    scheme = "https" if isinstance(server_or_port, Server) and server_or_port.tls else "http"
    options: dict[str, Any] = dict(platform="test", base_url=f"{scheme}://127.0.0.1:{port}/api", transport=None,
                                   concurrency=2, retries=2, retry_delay=0.001, timeout=2.0)
    options.update(kw)
    return PlatformClient(**options)


async def call(client: PlatformClient, *args: Any, **kw: Any) -> http.Response:
    try:
        return await client.request(*args, **kw)
    finally:
        await client.aclose()


# -- the request on the wire, keep-alive, limits ------------------------------------------------


def test_platform_client_sends_its_headers_on_the_wire() -> None:
    async def go() -> None:
        reply = answer(b'{"ok": true}', "200 OK", "X-Correlation-ID: from-server")
        async with Server([reply]) as srv:
            r = await call(platform_client(srv), "PUT", "/tariffs/CO/ABC/dc-fast", json_body={"id": "dc-fast"})
            assert (r.status, r.body, r.correlation_id) == (200, {"ok": True}, "from-server")
            assert len(srv.requests) == 1
            line, headers, body = parse(srv.requests[0])
            assert line == "PUT /api/tariffs/CO/ABC/dc-fast HTTP/1.1"
            assert headers["host"] == f"127.0.0.1:{srv.port}"
            assert uuid.UUID(headers["x-request-id"]) and headers["x-request-id"] == r.request_id
            assert headers["x-correlation-id"] == RUN_CORRELATION_ID
            assert "gzip" in headers["accept-encoding"]
            assert headers["accept"] == "application/json"
            assert headers["content-type"] == "application/json"
            assert headers["user-agent"].startswith("reconciler/")
            assert headers["content-length"] == str(len(body)) and body == b'{"id":"dc-fast"}'

    run(go())


def test_sequential_requests_share_one_keep_alive_connection() -> None:
    async def go() -> None:
        async with Server([answer(b'"one"'), answer(b'"two"'), answer(b'"three"')]) as srv:
            client = platform_client(srv, concurrency=1)
            try:
                bodies = [(await client.request("GET", f"r{i}")).body for i in range(3)]
            finally:
                await client.aclose()
            assert bodies == ["one", "two", "three"]
            assert srv.connections == 1 and len(srv.requests) == 3

    run(go())


def test_concurrent_requests_are_bounded_by_the_concurrency() -> None:
    async def go() -> None:
        slow = Say([0.1, answer(b"{}")])
        async with Server([slow] * 6) as srv:
            client = platform_client(srv)
            try:
                await asyncio.gather(*(client.request("GET", f"r{i}") for i in range(6)))
            finally:
                await client.aclose()
            assert srv.connections == 2 and len(srv.requests) == 6  # concurrency=2: two keep-alive connections

    run(go())


def test_an_idle_connection_closed_by_the_server_is_replaced() -> None:
    async def go() -> None:
        async with Server([Say.of(answer(b'"one"'), close=True), answer(b'"two"')]) as srv:
            client = platform_client(srv, concurrency=1, retries=0)
            try:
                assert (await client.request("GET", "1")).body == "one"
                await asyncio.sleep(0.05)
                assert (await client.request("GET", "2")).body == "two"
            finally:
                await client.aclose()
            assert srv.connections == 2
            assert [parse(r)[0] for r in srv.requests] == ["GET /api/1 HTTP/1.1", "GET /api/2 HTTP/1.1"]

    run(go())


def test_closing_the_client_closes_a_connection_still_carrying_a_request() -> None:
    async def go() -> None:
        async with Server([HANG]) as srv:
            client = platform_client(srv, retries=0, timeout=30.0)
            pending = asyncio.ensure_future(client.request("GET", "slow"))
            for _ in range(200):  # until the server has read the request
                if srv.requests:
                    break
                await asyncio.sleep(0.01)
            assert len(srv.requests) == 1
            started = time.monotonic()
            await client.aclose()
            with pytest.raises(errors.PlatformError):
                await pending
            assert time.monotonic() - started < 5  # failed at once, not after the 30 s timeout

    run(go())


def test_platform_client_decodes_a_gzip_json_answer() -> None:
    async def go() -> None:
        payload = b'{"data": {"id": "T1"}}'
        reply = answer(gzip.compress(payload), "200 OK", "Content-Encoding: gzip", "Content-Type: application/json")
        async with Server([reply]) as srv:
            assert (await call(platform_client(srv), "GET", "t")).body == {"data": {"id": "T1"}}

    run(go())


def test_a_chunked_answer_is_read_whole() -> None:
    async def go() -> None:
        chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":\r\n2\r\n1}\r\n0\r\n\r\n"
        async with Server([chunked]) as srv:
            assert (await call(platform_client(srv), "GET", "t")).body == {"a": 1}

    run(go())


def test_a_url_on_another_port_goes_to_that_port() -> None:
    async def go() -> None:
        async with Server([answer(b'"home"')]) as home, Server([answer(b'"elsewhere"')]) as other:
            r = await call(platform_client(home), "GET", other.url("/file"))
            assert r.body == "elsewhere"
            assert home.requests == [] and len(other.requests) == 1

    run(go())


def test_a_proxy_in_the_environment_is_used_and_no_proxy_bypasses_it(monkeypatch: pytest.MonkeyPatch) -> None:
    async def go() -> None:
        async with Server([answer(b'"via proxy"')]) as proxy, Server([answer(b'"direct"')]) as direct:
            monkeypatch.setenv("HTTP_PROXY", proxy.url())
            r = await call(platform_client(9, base_url="http://platform.example.invalid/api"), "GET", "x")
            assert r.body == "via proxy"
            assert parse(proxy.requests[0])[0] == "GET http://platform.example.invalid/api/x HTTP/1.1"
            monkeypatch.setenv("NO_PROXY", "127.0.0.1")
            assert (await call(platform_client(direct), "GET", "y")).body == "direct"
            assert len(proxy.requests) == 1 and len(direct.requests) == 1

    run(go())


# -- retries, timeouts, what was sent -----------------------------------------------------------


def test_platform_client_retries_a_503_then_succeeds() -> None:
    async def go() -> None:
        busy = answer(b'{"status_message": "busy"}', "503 Service Unavailable", "Content-Type: application/json")
        async with Server([busy, answer(b'{"data": [1, 2]}')]) as srv:
            client = platform_client(srv)
            r = await call(client, "GET", "things?x=1")
            assert (r.status, r.body) == (200, {"data": [1, 2]})
            assert client.counters.retries == 1 and client.counters.by_method == {"GET": 2}
            first, second = (parse(raw) for raw in srv.requests)
            assert first[0] == second[0] == "GET /api/things?x=1 HTTP/1.1"
            assert first[1]["x-request-id"] == second[1]["x-request-id"] == r.request_id

    run(go())


def test_a_post_to_a_closed_port_is_not_sent_and_is_retried(refused_port: int) -> None:
    async def go() -> None:
        client = platform_client(refused_port)
        with pytest.raises(errors.NotSent, match="connection failed: .*Cannot connect to host 127.0.0.1"):
            await call(client, "POST", "sessions", json_body={"id": "S1"})
        # NotSent never left this machine: even a POST is tried 1 + retries times.
        assert client.counters.by_method == {"POST": 3} and client.counters.retries == 2

    run(go())


def test_a_post_closed_after_sending_is_outcome_unknown_and_sent_once() -> None:
    async def go() -> None:
        async with Server([DROP, OK, OK]) as srv:
            client = platform_client(srv)
            with pytest.raises(errors.OutcomeUnknown, match="may or may not have taken effect") as info:
                await call(client, "POST", "sessions", json_body={"id": "S1"})
            assert isinstance(info.value.__cause__, errors.TransportError)
            assert not isinstance(info.value.__cause__, errors.NotSent)
            assert [parse(r)[0] for r in srv.requests] == ["POST /api/sessions HTTP/1.1"]
            assert client.counters.by_method == {"POST": 1} and client.counters.retries == 0

    run(go())


def test_a_post_on_a_reused_connection_closed_without_answer_is_not_resent() -> None:
    async def go() -> None:
        # concurrency=1: the POST reuses the GET's keep-alive connection; the server reads it and closes.
        async with Server([OK, DROP, OK]) as srv:
            client = platform_client(srv, concurrency=1)
            try:
                await client.request("GET", "warm")
                with pytest.raises(errors.OutcomeUnknown):
                    await client.request("POST", "sessions", json_body={"id": "S1"})
            finally:
                await client.aclose()
            assert [parse(r)[0] for r in srv.requests] == ["GET /api/warm HTTP/1.1", "POST /api/sessions HTTP/1.1"]

    run(go())


def test_a_get_closed_without_answer_is_retried() -> None:
    async def go() -> None:
        async with Server([DROP, answer(b'{"v": 1}')]) as srv:
            client = platform_client(srv)
            r = await call(client, "GET", "x")
            assert r.body == {"v": 1} and len(srv.requests) == 2   # sent again (by aiohttp or by the client)
            assert parse(srv.requests[0])[1]["x-request-id"] == parse(srv.requests[1])[1]["x-request-id"]

    run(go())


def test_a_server_that_never_answers_times_out() -> None:
    async def go() -> None:
        async with Server([HANG]) as srv:
            started = time.monotonic()
            with pytest.raises(errors.RequestTimeout):
                await call(platform_client(srv, timeout=0.2, retries=0), "GET", "slow")
            assert 0.19 <= time.monotonic() - started < 1.5

    run(go())


def test_a_body_that_stalls_times_out() -> None:
    async def go() -> None:
        stalled = Say([b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 3.0])
        async with Server([stalled]) as srv:
            started = time.monotonic()
            with pytest.raises(errors.RequestTimeout):
                await call(platform_client(srv, timeout=0.2, retries=0), "GET", "slow")
            assert time.monotonic() - started < 1.5

    run(go())


def test_the_write_intent_is_announced_when_the_post_leaves_and_not_when_it_cannot(refused_port: int) -> None:
    announced: list[str] = []

    async def go() -> None:
        token = http.WRITE_INTENT.set(lambda: announced.append("sent"))
        try:
            with pytest.raises(errors.NotSent):
                await call(platform_client(refused_port, retries=0), "POST", "tariffs", json_body={"a": 1})
            assert announced == []   # no connection, so no byte left: nothing to journal
            async with Server([OK]) as srv:
                await call(platform_client(srv), "POST", "tariffs", json_body={"a": 1})
                assert announced == ["sent"] and len(srv.requests) == 1
                # Idempotent requests never announce (they can be repeated safely).
                srv.answers.append(OK)
                await call(platform_client(srv), "PATCH", "tariffs", json_body={"a": 1})
                assert announced == ["sent"]
        finally:
            http.WRITE_INTENT.reset(token)

    run(go())


# -- credentials ----------------------------------------------------------------------------------


class CountingAuth:
    def __init__(self) -> None:
        self.generation = 1
        self.renewals = 0

    async def headers(self, client: PlatformClient) -> dict[str, str]:
        return {"Authorization": f"Bearer t{self.generation}"}

    def invalidate(self, rejected: str | None) -> None:
        if rejected == f"Bearer t{self.generation}":
            self.generation += 1
            self.renewals += 1


UNAUTHORIZED = answer(b'{"status_code": 2001, "status_message": "token expired"}', "401 Unauthorized")


def test_a_credential_that_expires_twice_during_one_request_is_renewed_each_time() -> None:
    async def go() -> None:
        async with Server([UNAUTHORIZED, UNAUTHORIZED, answer(b'"done"')]) as srv:
            auth = CountingAuth()
            r = await call(platform_client(srv, auth=auth), "PATCH", "evses", json_body={"x": 1})
            assert r.body == "done" and auth.renewals == 2
            assert [parse(q)[1]["authorization"] for q in srv.requests] == ["Bearer t1", "Bearer t2", "Bearer t3"]

    run(go())


def test_renewals_are_bounded_per_request_and_the_error_names_the_platform() -> None:
    async def go() -> None:
        async with Server([UNAUTHORIZED] * 10) as srv:
            auth = CountingAuth()
            with pytest.raises(errors.AuthError) as info:
                await call(platform_client(srv, auth=auth, platform="siem-co"), "GET", "x")
            assert auth.renewals == http.MAX_RENEWALS and len(srv.requests) == http.MAX_RENEWALS + 1
            assert info.value.message == "HTTP 401: token expired (status_code 2001)"
            assert info.value.detail is not None and "Platform 'siem-co' refused the credentials" in info.value.detail

    run(go())


def test_a_403_is_not_retried_with_a_new_credential() -> None:
    async def go() -> None:
        async with Server([answer(b'{"detail": "not your party"}', "403 Forbidden"), OK]) as srv:
            auth = CountingAuth()
            with pytest.raises(errors.AuthError, match="HTTP 403: not your party") as info:
                await call(platform_client(srv, auth=auth), "GET", "x")
            assert info.value.detail == "Platform 'test' refused access to x with these credentials."
            assert auth.renewals == 0 and len(srv.requests) == 1

    run(go())


# -- the platform's reason in errors ------------------------------------------------------------


@pytest.mark.parametrize(("body", "reason"), [
    (b'{"detail": [{"loc": ["body", "evses", 0, "uid"], "msg": "field required", "type": "missing"},'
     b' {"loc": ["body", "name"], "msg": "too long"}]}',
     "evses.0.uid: field required; name: too long"),
    (b'{"detail": "uid is reserved"}', "uid is reserved"),
    (b'{"message": "bad tariff", "code": 7}', "bad tariff"),
    (b'{"error": {"message": "price must be positive"}}', "price must be positive"),
    (b'{"errors": ["a", "b"]}', "a; b"),
    (b'{"status_code": 2001, "status_message": "Invalid or missing parameters"}',
     "Invalid or missing parameters (status_code 2001)"),
    (b"plain\n  text reason", "plain text reason"),
])
def test_a_4xx_shows_the_platforms_reason(body: bytes, reason: str) -> None:
    async def go() -> None:
        async with Server([answer(body, "422 Unprocessable Entity")]) as srv:
            with pytest.raises(errors.ClientError) as info:
                await call(platform_client(srv), "PUT", "x", json_body={})
            assert info.value.message == f"HTTP 422: {reason}"

    run(go())


def test_a_long_reason_is_cut_to_a_readable_length() -> None:
    async def go() -> None:
        async with Server([answer(b'{"detail": "' + b"x" * 5000 + b'"}', "400 Bad Request")]) as srv:
            with pytest.raises(errors.ClientError) as info:
                await call(platform_client(srv), "PUT", "x", json_body={})
            assert len(info.value.message) < http.REASON_LIMIT + 20 and info.value.message.endswith("…")

    run(go())


# -- TLS and mTLS (a throwaway CA) ------------------------------------------------------------------

@pytest.fixture
def pki(tmp_path: Path) -> dict[str, Any]:
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    client = ca.issue_cert("cpo.example.co")
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    client.cert_chain_pems[0].write_to_path(str(tmp_path / "client.pem"))
    client.private_key_pem.write_to_path(str(tmp_path / "client.key"))
    other = trustme.CA()
    other.cert_pem.write_to_path(str(tmp_path / "other-ca.pem"))

    def server_context(require_client: bool) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server.configure_cert(ctx)
        if require_client:
            ca.configure_trust(ctx)
            ctx.verify_mode = ssl.CERT_REQUIRED
        return ctx

    return {"dir": tmp_path, "server": server_context, "localhost_only": ca.issue_cert("localhost")}


def test_tls_with_the_configured_ca_bundle(pki: dict[str, Any]) -> None:
    async def go() -> None:
        async with Server([answer(b'"secure"')], tls=pki["server"](False)) as srv:
            r = await call(platform_client(srv, ca_bundle=pki["dir"] / "ca.pem"), "GET", "x")
            assert r.body == "secure"

    run(go())


@pytest.mark.parametrize("bundle", [None, "other-ca.pem"])
def test_a_certificate_the_bundle_does_not_trust_is_refused_unsent(pki: dict[str, Any], bundle: str | None) -> None:
    async def go() -> None:
        async with Server([OK], tls=pki["server"](False)) as srv:
            with pytest.raises(errors.NotSent, match="CERTIFICATE_VERIFY_FAILED"):
                await call(platform_client(srv, retries=0, ca_bundle=pki["dir"] / bundle if bundle else None),
                           "POST", "x", json_body={})
            assert srv.requests == []

    run(go())


def test_a_certificate_for_another_host_name_is_refused(pki: dict[str, Any]) -> None:
    async def go() -> None:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        pki["localhost_only"].configure_cert(ctx)
        async with Server([OK], tls=ctx) as srv:
            with pytest.raises(errors.NotSent, match="CERTIFICATE_VERIFY_FAILED"):
                await call(platform_client(srv, retries=0, ca_bundle=pki["dir"] / "ca.pem"), "GET", "x")
            assert srv.requests == []

    run(go())


def test_mtls_sends_the_client_certificate(pki: dict[str, Any]) -> None:
    async def go() -> None:
        d = pki["dir"]
        async with Server([answer(b'"mutual"')], tls=pki["server"](True)) as srv:
            r = await call(platform_client(srv, ca_bundle=d / "ca.pem", client_cert=d / "client.pem",
                                           client_key=d / "client.key"), "GET", "x")
            assert r.body == "mutual" and len(srv.requests) == 1
            # Without the certificate the server ends the handshake: no request is read.
            with pytest.raises(errors.TransportError):
                await call(platform_client(srv, retries=0, ca_bundle=d / "ca.pem"), "GET", "x")
            assert len(srv.requests) == 1

    run(go())


def test_the_tls_context_always_verifies(pki: dict[str, Any]) -> None:
    ctx = http.tls_context(ca_bundle=pki["dir"] / "ca.pem", client_cert=pki["dir"] / "client.pem",
                           client_key=pki["dir"] / "client.key")
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname is True


@pytest.mark.parametrize("retries", [0, 1])
def test_a_post_whose_answer_is_lost_is_outcome_unknown_even_with_no_retries_left(retries: int) -> None:
    # Two expiries first (renewals do not use up retries), then the platform takes the POST and drops it.
    async def go() -> None:
        async with Server([UNAUTHORIZED, UNAUTHORIZED, DROP, OK]) as srv:
            auth = CountingAuth()
            with pytest.raises(errors.OutcomeUnknown):
                await call(platform_client(srv, auth=auth, retries=retries), "POST", "tariffs", json_body={"a": 1})
            assert auth.renewals == 2 and len(srv.requests) == 3

    run(go())


def test_credentials_in_netrc_are_never_sent(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password netrc-secret-1\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))

    async def go() -> None:
        async with Server([answer(b'"ok"')]) as srv:
            assert (await platform_client(srv).send_raw("GET", "x")).body == "ok"
            _, headers, _ = parse(srv.requests[0])
            assert "authorization" not in headers

    run(go())
