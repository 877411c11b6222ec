"""The lean HTTP/1.1 client (`http1`) and `PlatformClient` over it, against a real loopback server.

The server below (`Server`) is an `asyncio.start_server` on 127.0.0.1 whose answers are scripted per
test as exact raw bytes; it records the exact bytes of every request it read and how many
connections were opened. Every test asserts what a user of the client would notice: status, decoded
body, headers, the bytes on the wire, connections, and the exception with its message.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import random
import socket
import time
import uuid
import zlib
from collections.abc import AsyncIterator, Awaitable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pytest

from reconciler.providers import errors
from reconciler.providers.http import RUN_CORRELATION_ID, PlatformClient
from reconciler.providers.http1 import Connection, Headers, Http1Error, Http1Timeout, Origin, request_target

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

    def __init__(self, answers: Sequence[Answer] = ()) -> None:
        self.answers = list(answers)
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
        return f"http://127.0.0.1:{self.port}{path}"

    async def __aenter__(self) -> Server:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
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
        except (ConnectionError, asyncio.CancelledError):
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


@contextlib.asynccontextmanager
async def connection(server: Server, timeout: float = 2.0) -> AsyncIterator[Connection]:
    origin = Origin.of(server.url())
    assert origin is not None
    conn = Connection(origin, ssl_context=None, timeout=timeout)
    try:
        yield conn
    finally:
        await conn.aclose()


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A loopback port that refuses connections (bound, never listening, so nobody else takes it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield s.getsockname()[1]


# -- the request on the wire --------------------------------------------------------------------


def test_request_line_host_and_headers_on_the_wire() -> None:
    async def go() -> None:
        async with Server([OK]) as srv, connection(srv) as conn:
            r = await conn.request("GET", srv.url("/a/b c?x=1"), {"Accept": "application/json"}, None)
            assert (r.status, r.reason, r.content) == (200, "OK", b"ok")
            assert srv.requests == [
                f"GET /a/b%20c?x=1 HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\nAccept: application/json\r\n\r\n"
                .encode()
            ]

    run(go())


def test_an_already_escaped_target_is_sent_as_is() -> None:
    async def go() -> None:
        async with Server([OK]) as srv, connection(srv) as conn:
            await conn.request("GET", srv.url("/a/b%20c?x=1"), {}, None)
            assert parse(srv.requests[0])[0] == "GET /a/b%20c?x=1 HTTP/1.1"

    run(go())


@pytest.mark.parametrize("method", ["PUT", "POST", "PATCH"])
def test_a_body_is_sent_with_its_content_length(method: str) -> None:
    body = '{"id":"ä"}'.encode()

    async def go() -> None:
        async with Server([OK]) as srv, connection(srv) as conn:
            r = await conn.request(method, srv.url("/t"), {"Content-Type": "application/json"}, body)
            assert r.status == 200
            assert srv.requests == [
                f"{method} /t HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n".encode() + body
            ]

    run(go())


def test_a_post_without_body_says_content_length_0_and_a_get_says_nothing() -> None:
    async def go() -> None:
        async with Server([OK, OK, OK]) as srv, connection(srv) as conn:
            await conn.request("POST", srv.url("/p"), {}, None)
            await conn.request("GET", srv.url("/g"), {}, None)
            await conn.request("DELETE", srv.url("/d"), {}, None)
            host = f"Host: 127.0.0.1:{srv.port}\r\n"
            assert srv.requests == [
                f"POST /p HTTP/1.1\r\n{host}Content-Length: 0\r\n\r\n".encode(),
                f"GET /g HTTP/1.1\r\n{host}\r\n".encode(),
                f"DELETE /d HTTP/1.1\r\n{host}\r\n".encode(),
            ]

    run(go())


@pytest.mark.parametrize("headers", [
    {"X-Evil": "a\r\nX-Injected: 1"},
    {"X-Evil": "a\nb"},
    {"X-Evil": "a\rb"},
    {"X-Evil:": "a"},
    {"X-\r\nEvil": "a"},
])
def test_a_header_with_cr_lf_is_refused_before_anything_is_sent(headers: dict[str, str]) -> None:
    async def go() -> None:
        async with Server([OK]) as srv, connection(srv) as conn:
            with pytest.raises(Http1Error, match="invalid character in the") as info:
                await conn.request("GET", srv.url("/bad"), headers, None)
            assert info.value.sent is False
            # Nothing reached the server: the next request is the first bytes it reads.
            r = await conn.request("GET", srv.url("/ok"), {}, None)
            assert r.status == 200
            assert len(srv.requests) == 1 and srv.requests[0].startswith(b"GET /ok HTTP/1.1\r\n")
            assert b"Injected" not in srv.requests[0] and b"Evil" not in srv.requests[0]

    run(go())


def test_a_header_value_that_is_not_latin_1_is_refused_unsent() -> None:
    async def go() -> None:
        async with Server([OK]) as srv, connection(srv) as conn:
            with pytest.raises(Http1Error, match="not Latin-1") as info:
                await conn.request("GET", srv.url("/"), {"X-Name": "€"}, None)
            assert info.value.sent is False
            assert srv.requests == []

    run(go())


# -- keep-alive ---------------------------------------------------------------------------------


def test_sequential_requests_share_one_connection() -> None:
    async def go() -> None:
        async with Server([answer(b"one"), answer(b"two"), answer(b"three")]) as srv, connection(srv) as conn:
            bodies = [(await conn.request("GET", srv.url(f"/{i}"), {}, None)).content for i in range(3)]
            assert bodies == [b"one", b"two", b"three"]
            assert srv.connections == 1 and len(srv.requests) == 3

    run(go())


def test_connection_close_in_the_answer_opens_a_new_connection_next_time() -> None:
    async def go() -> None:
        first = answer(b"one", "200 OK", "Connection: close")
        async with Server([first, answer(b"two")]) as srv, connection(srv) as conn:
            assert (await conn.request("GET", srv.url("/1"), {}, None)).content == b"one"
            assert (await conn.request("GET", srv.url("/2"), {}, None)).content == b"two"
            assert srv.connections == 2

    run(go())


def test_an_http_1_0_answer_closes_unless_it_says_keep_alive() -> None:
    async def go() -> None:
        answers = [answer(b"a", version="HTTP/1.0"), answer(b"b", "200 OK", "Connection: keep-alive",
                                                             version="HTTP/1.0"), answer(b"c")]
        async with Server(answers) as srv, connection(srv) as conn:
            got = [(await conn.request("GET", srv.url("/"), {}, None)).content for _ in range(3)]
            assert got == [b"a", b"b", b"c"]
            assert srv.connections == 2  # a new one after the plain 1.0 answer, kept after keep-alive

    run(go())


# -- bodies -------------------------------------------------------------------------------------


def test_chunked_body_with_extensions_and_trailers() -> None:
    chunked = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n"
               b"5;name=value\r\nhello\r\n"
               b"1\r\n \r\n"
               b"A ; ext=\"quoted;semi\"\r\n0123456789\r\n"
               b"0;last\r\nX-Trailer: t\r\nX-Other: u\r\n\r\n")

    async def go() -> None:
        async with Server([chunked, answer(b"next")]) as srv, connection(srv) as conn:
            r = await conn.request("GET", srv.url("/"), {}, None)
            assert (r.status, r.content) == (200, b"hello 0123456789")
            assert r.headers["content-type"] == "text/plain"
            # The trailers were consumed: the next answer on the same connection is read cleanly.
            assert (await conn.request("GET", srv.url("/"), {}, None)).content == b"next"
            assert srv.connections == 1

    run(go())


def test_a_chunked_answer_may_take_longer_than_the_timeout_while_it_progresses() -> None:
    parts: list[bytes | float] = [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"]
    for c in b"abcd":
        parts += [0.1, b"1\r\n" + bytes([c]) + b"\r\n"]
    parts.append(b"0\r\n\r\n")

    async def go() -> None:
        async with Server([Say(parts)]) as srv, connection(srv, timeout=0.3) as conn:
            started = time.monotonic()
            r = await conn.request("GET", srv.url("/"), {}, None)
            assert r.content == b"abcd"
            assert time.monotonic() - started >= 0.35  # longer than the timeout in total

    run(go())


def test_a_body_without_length_ends_with_the_connection() -> None:
    async def go() -> None:
        close_delimited = Say.of(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello\r\nworld", close=True)
        async with Server([close_delimited, answer(b"again")]) as srv, connection(srv) as conn:
            r = await conn.request("GET", srv.url("/"), {}, None)
            assert r.content == b"hello\r\nworld"
            assert (await conn.request("GET", srv.url("/"), {}, None)).content == b"again"
            assert srv.connections == 2

    run(go())


@pytest.mark.parametrize("status", ["204 No Content", "304 Not Modified"])
def test_204_and_304_have_no_body(status: str) -> None:
    async def go() -> None:
        # No Content-Length: a client that waited for a body would hang or eat the next answer.
        async with Server([answer(b"", status, length=False), answer(b"next")]) as srv, connection(srv) as conn:
            r = await conn.request("GET", srv.url("/"), {}, None)
            assert (r.status, r.content) == (int(status[:3]), b"")
            assert (await conn.request("GET", srv.url("/"), {}, None)).content == b"next"
            assert srv.connections == 1

    run(go())


def test_a_head_answer_has_no_body_whatever_its_content_length() -> None:
    async def go() -> None:
        head_answer = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
        async with Server([head_answer, answer(b"next")]) as srv, connection(srv) as conn:
            r = await conn.request("HEAD", srv.url("/"), {}, None)
            assert (r.status, r.content, r.headers["Content-Length"]) == (200, b"", "5")
            assert (await conn.request("GET", srv.url("/"), {}, None)).content == b"next"
            assert srv.connections == 1

    run(go())


def _raw_deflate(data: bytes) -> bytes:
    c = zlib.compressobj(wbits=-15)
    return c.compress(data) + c.flush()


@pytest.mark.parametrize(("coding", "encode"), [
    ("gzip", gzip.compress),
    ("x-gzip", gzip.compress),
    ("deflate", zlib.compress),
    ("deflate", _raw_deflate),
    ("GZip", gzip.compress),
    ("identity", lambda b: b),
    ("deflate, gzip", lambda b: gzip.compress(zlib.compress(b))),
])
def test_content_codings_are_decoded(coding: str, encode: Any) -> None:
    payload = b'{"data": [' + b",".join(b'{"id": %d}' % i for i in range(200)) + b"]}"

    async def go() -> None:
        body = encode(payload)
        async with Server([answer(body, "200 OK", f"Content-Encoding: {coding}")]) as srv, \
                connection(srv) as conn:
            r = await conn.request("GET", srv.url("/"), {}, None)
            assert r.content == payload

    run(go())


def test_a_gzip_body_sent_chunked_is_decoded() -> None:
    payload = b"x" * 5000
    z = gzip.compress(payload)
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(z[i:i + 7]), z[i:i + 7]) for i in range(0, len(z), 7))
    raw = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n" + chunks
           + b"0\r\n\r\n")

    async def go() -> None:
        async with Server([raw]) as srv, connection(srv) as conn:
            assert (await conn.request("GET", srv.url("/"), {}, None)).content == payload

    run(go())


def test_an_unknown_content_coding_is_an_error() -> None:
    async def go() -> None:
        async with Server([answer(b"\x00\x01\x02", "200 OK", "Content-Encoding: br")]) as srv, \
                connection(srv) as conn:
            with pytest.raises(Http1Error, match="content coding 'br', which was not asked for"):
                await conn.request("GET", srv.url("/"), {}, None)

    run(go())


def test_a_corrupt_gzip_body_is_an_error() -> None:
    async def go() -> None:
        async with Server([answer(b"not gzip at all", "200 OK", "Content-Encoding: gzip")]) as srv, \
                connection(srv) as conn:
            with pytest.raises(Http1Error, match="gzip content cannot be decoded"):
                await conn.request("GET", srv.url("/"), {}, None)

    run(go())


def test_interim_answers_are_skipped() -> None:
    raw = (b"HTTP/1.1 100 Continue\r\n\r\n"
           b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
           + answer(b"final", "201 Created", "Location: /t/1"))

    async def go() -> None:
        async with Server([raw, answer(b"next")]) as srv, connection(srv) as conn:
            r = await conn.request("POST", srv.url("/t"), {}, b"{}")
            assert (r.status, r.reason, r.content) == (201, "Created", b"final")
            assert r.headers.get("location") == "/t/1" and "link" not in r.headers
            assert (await conn.request("GET", srv.url("/"), {}, None)).content == b"next"
            assert srv.connections == 1

    run(go())


def test_endless_interim_answers_are_an_error() -> None:
    async def go() -> None:
        async with Server([b"HTTP/1.1 100 Continue\r\n\r\n" * 11 + OK]) as srv, connection(srv) as conn:
            with pytest.raises(Http1Error, match="too many interim"):
                await conn.request("GET", srv.url("/"), {}, None)

    run(go())


def test_switching_protocols_is_an_error() -> None:
    async def go() -> None:
        async with Server([b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n"]) as srv, \
                connection(srv) as conn:
            with pytest.raises(Http1Error, match="switched protocols"):
                await conn.request("GET", srv.url("/"), {}, None)

    run(go())


# -- malformed answers --------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "message"), [
    (b"SSH-2.0-OpenSSH_9.6\r\n\r\n", "not an HTTP/1.x answer: 'SSH-2.0-OpenSSH_9.6'"),
    (b"HTTP/2 200\r\n\r\n", "not an HTTP/1.x answer: 'HTTP/2 200'"),
    (b"HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n", "not an HTTP/1.x answer: 'HTTP/1.1 2x0 OK'"),
    (b"HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n", "not an HTTP/1.x answer"),
    (b"HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n", "not an HTTP/1.x answer"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n", "invalid Content-Length in the answer: 'abc'"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "invalid Content-Length in the answer: '-1'"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
     "invalid Content-Length in the answer: '2, 3'"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n",
     "invalid chunk size in the answer: b'zz'"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", "invalid chunk size in the answer: b''"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabcd\r\n0\r\n\r\n", "malformed chunked answer"),
    (b"HTTP/1.1 200 OK\r\nNoColonHere\r\n\r\n", "malformed header line in the answer: 'NoColonHere'"),
    (b"HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n", "malformed header line"),
])
def test_malformed_answers_are_clear_errors(raw: bytes, message: str) -> None:
    async def go() -> None:
        async with Server([Say.of(raw, close=True)]) as srv, connection(srv) as conn:
            with pytest.raises(Http1Error) as info:
                await conn.request("GET", srv.url("/"), {}, None)
            assert message in str(info.value)
            assert not isinstance(info.value, Http1Timeout) and info.value.sent is True

    run(go())


def test_repeated_equal_content_lengths_are_one_length() -> None:
    # Repeated but identical Content-Length headers are one length (RFC 9110 8.6).
    async def go() -> None:
        raw = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc"
        async with Server([raw]) as srv, connection(srv) as conn:
            assert (await conn.request("GET", srv.url("/"), {}, None)).content == b"abc"

    run(go())


@pytest.mark.parametrize("raw", [
    b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabcd",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Le",
])
def test_a_connection_closed_in_the_middle_of_the_answer_is_an_error(raw: bytes) -> None:
    async def go() -> None:
        async with Server([Say.of(raw, close=True), OK]) as srv, connection(srv) as conn:
            with pytest.raises(Http1Error, match="the connection closed in the middle of the answer"):
                await conn.request("GET", srv.url("/"), {}, None)
            assert len(srv.requests) == 1  # not resent: part of an answer came back
            # The broken connection is not reused.
            assert (await conn.request("GET", srv.url("/"), {}, None)).content == b"ok"
            assert srv.connections == 2

    run(go())


def test_headers_longer_than_the_limit_are_an_error() -> None:
    raw = b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * (70 * 1024) + b"\r\nContent-Length: 0\r\n\r\n"

    async def go() -> None:
        async with Server([Say.of(raw, close=True)]) as srv, connection(srv) as conn:
            with pytest.raises(Http1Error, match="status line or headers are too long"):
                await conn.request("GET", srv.url("/"), {}, None)

    run(go())


@pytest.mark.parametrize(("raw", "message"), [
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\nab\r\n0\r\n\r\n", "invalid chunk size"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: \xb2\r\n\r\n", "invalid Content-Length"),
    (b"HTTP/1.1 \xb2\xb2\xb2 OK\r\nContent-Length: 0\r\n\r\n", "not an HTTP/1.x answer"),
], ids=["negative-chunk-size", "superscript-content-length", "superscript-status"])
def test_numbers_int_rejects_are_http1_errors(raw: bytes, message: str) -> None:
    async def go() -> None:
        async with Server([Say.of(raw, close=True)]) as srv, connection(srv) as conn:
            with pytest.raises(Http1Error, match=message):
                await conn.request("GET", srv.url("/"), {}, None)

    run(go())


# -- stale keep-alive connections ---------------------------------------------------------------


def test_an_idle_connection_closed_by_the_server_is_replaced() -> None:
    async def go() -> None:
        # Keep-alive by its headers, but the server closes the connection once it has answered.
        async with Server([Say.of(answer(b"one"), close=True), answer(b"two")]) as srv, connection(srv) as conn:
            assert (await conn.request("GET", srv.url("/1"), {}, None)).content == b"one"
            await asyncio.sleep(0.05)
            assert (await conn.request("GET", srv.url("/2"), {}, None)).content == b"two"
            assert srv.connections == 2
            assert [parse(r)[0] for r in srv.requests] == ["GET /1 HTTP/1.1", "GET /2 HTTP/1.1"]

    run(go())


def test_a_request_on_a_reused_connection_closed_without_answer_is_resent_once() -> None:
    async def go() -> None:
        # The server reads the second request on the first connection and closes it unanswered.
        async with Server([answer(b"one"), DROP, answer(b"two")]) as srv, connection(srv) as conn:
            assert (await conn.request("GET", srv.url("/1"), {}, None)).content == b"one"
            assert (await conn.request("GET", srv.url("/2"), {}, None)).content == b"two"
            assert srv.connections == 2
            assert [parse(r)[0] for r in srv.requests] == ["GET /1 HTTP/1.1", "GET /2 HTTP/1.1", "GET /2 HTTP/1.1"]

    run(go())


def test_a_resent_request_closed_again_is_an_error_not_a_loop() -> None:
    async def go() -> None:
        async with Server([answer(b"one"), DROP, DROP, OK]) as srv, connection(srv) as conn:
            await conn.request("GET", srv.url("/1"), {}, None)
            with pytest.raises(Http1Error, match="^the server closed the connection without answering$"):
                await conn.request("GET", srv.url("/2"), {}, None)
            assert len(srv.requests) == 3 and srv.connections == 2

    run(go())


def test_without_resend_a_reused_connection_closed_without_answer_is_an_error() -> None:
    async def go() -> None:
        async with Server([answer(b"one"), DROP, OK]) as srv, connection(srv) as conn:
            await conn.request("GET", srv.url("/1"), {}, None)
            with pytest.raises(Http1Error, match="the server closed the connection without answering") as info:
                await conn.request("POST", srv.url("/2"), {}, b"{}", resend_if_closed=False)
            assert info.value.sent is True
            assert [parse(r)[0] for r in srv.requests] == ["GET /1 HTTP/1.1", "POST /2 HTTP/1.1"]
            assert srv.connections == 1

    run(go())


def test_a_new_connection_closed_without_answer_is_not_resent() -> None:
    async def go() -> None:
        async with Server([DROP, OK]) as srv, connection(srv) as conn:
            with pytest.raises(Http1Error, match="closed the connection without answering") as info:
                await conn.request("GET", srv.url("/"), {}, None)
            assert info.value.sent is True
            assert len(srv.requests) == 1 and srv.connections == 1

    run(go())


# -- timeouts and connection failures -----------------------------------------------------------


def test_a_server_that_never_answers_times_out() -> None:
    async def go() -> None:
        async with Server([HANG, OK]) as srv, connection(srv, timeout=0.2) as conn:
            started = time.monotonic()
            with pytest.raises(Http1Timeout) as info:
                await conn.request("GET", srv.url("/"), {}, None)
            elapsed = time.monotonic() - started
            assert 0.19 <= elapsed < 1.0
            assert str(info.value) == f"no answer from 127.0.0.1:{srv.port} in 0.2s"
            assert info.value.sent is True
            # The timed-out connection is dropped; the next request uses a new one.
            assert (await conn.request("GET", srv.url("/"), {}, None)).content == b"ok"
            assert srv.connections == 2

    run(go())


def test_a_body_that_stalls_times_out() -> None:
    async def go() -> None:
        stalled = Say([b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 3.0])
        async with Server([stalled]) as srv, connection(srv, timeout=0.2) as conn:
            started = time.monotonic()
            with pytest.raises(Http1Timeout, match="no answer from"):
                await conn.request("GET", srv.url("/"), {}, None)
            assert time.monotonic() - started < 1.0

    run(go())


def test_connecting_to_a_closed_port_is_an_unsent_error(refused_port: int) -> None:
    async def go() -> None:
        origin = Origin.of(f"http://127.0.0.1:{refused_port}/")
        assert origin is not None
        conn = Connection(origin, ssl_context=None, timeout=1.0)
        try:
            with pytest.raises(Http1Error, match=f"^cannot connect to 127.0.0.1:{refused_port}: ") as info:
                await conn.request("POST", f"http://127.0.0.1:{refused_port}/x", {}, b"{}")
        finally:
            await conn.aclose()
        assert info.value.sent is False and not isinstance(info.value, Http1Timeout)

    run(go())


# -- Headers, Origin, request_target ------------------------------------------------------------


def test_response_headers_are_case_insensitive_and_repeated_ones_joined() -> None:
    raw = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Multi: a\r\nx-multi: b\r\n"
           b"Set-Thing:  padded  \r\nX-Folded: first\r\n   second\r\nContent-Length: 2\r\n\r\n{}")

    async def go() -> None:
        async with Server([raw]) as srv, connection(srv) as conn:
            h = (await conn.request("GET", srv.url("/"), {}, None)).headers
            assert h.get("Content-Type") == h.get("content-type") == h["CONTENT-TYPE"] == "application/json"
            assert "Content-Type" in h and "content-length" in h and "X-Absent" not in h and 3 not in h
            assert h["X-Multi"] == "a, b"
            assert h["set-thing"] == "padded"
            assert h["x-folded"] == "first second"
            assert h.get("x-absent") is None and h.get("x-absent", "d") == "d"
            assert sorted(h) == ["content-length", "content-type", "set-thing", "x-folded", "x-multi"]
            assert len(h) == 5 and dict(h)["x-multi"] == "a, b"
            with pytest.raises(KeyError):
                h["X-Absent"]

    run(go())


def test_headers_mapping_on_its_own() -> None:
    h = Headers({"retry-after": "7"})
    assert h["Retry-After"] == "7" and h.get("RETRY-AFTER") == "7" and "Retry-After" in h
    assert list(h.items()) == [("retry-after", "7")]


@pytest.mark.parametrize(("url", "expected", "host_header"), [
    ("http://example.com/x", Origin("http", "example.com", 80), "example.com"),
    ("https://example.com", Origin("https", "example.com", 443), "example.com"),
    ("https://example.com:443/a", Origin("https", "example.com", 443), "example.com"),
    ("https://example.com:8443/a?b", Origin("https", "example.com", 8443), "example.com:8443"),
    ("http://example.com:443/", Origin("http", "example.com", 443), "example.com:443"),
    ("HTTP://User:pw@Example.COM:8080/x", Origin("http", "example.com", 8080), "example.com:8080"),
    ("http://[::1]:8080/x", Origin("http", "::1", 8080), "[::1]:8080"),
    ("https://[2001:db8::1]/", Origin("https", "2001:db8::1", 443), "[2001:db8::1]"),
    ("http://127.0.0.1:5000", Origin("http", "127.0.0.1", 5000), "127.0.0.1:5000"),
])
def test_origin_of_a_url(url: str, expected: Origin, host_header: str) -> None:
    origin = Origin.of(url)
    assert origin == expected
    assert origin is not None and origin.host_header == host_header


@pytest.mark.parametrize("url", ["ftp://example.com/", "example.com/x", "http:///path", "http://host:99999/",
                                 "http://host:port/", "mailto:a@b.c", ""])
def test_origin_of_anything_else_is_none(url: str) -> None:
    assert Origin.of(url) is None


def test_origin_proxied_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    https = Origin("https", "api.example.com", 443)
    http = Origin("http", "api.example.com", 80)
    assert not https.proxied() and not http.proxied()
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    assert https.proxied() and not http.proxied()
    monkeypatch.setenv("NO_PROXY", "localhost,.example.com")
    assert not https.proxied()
    monkeypatch.setenv("NO_PROXY", "other.org")
    assert https.proxied()
    monkeypatch.setenv("NO_PROXY", "*")
    assert not https.proxied()
    monkeypatch.delenv("NO_PROXY")
    monkeypatch.delenv("HTTPS_PROXY")
    monkeypatch.setenv("ALL_PROXY", "http://proxy.internal:3128")
    assert https.proxied() and http.proxied()


@pytest.mark.parametrize(("url", "target"), [
    ("http://h/a/b c?x=1", "/a/b%20c?x=1"),
    ("http://h/a/b%20c?x=1", "/a/b%20c?x=1"),
    ("http://h", "/"),
    ("http://h?q=1", "/?q=1"),
    ("http://h/p#fragment", "/p"),
    ("http://h/ä/€?name=José Ñ", "/%C3%A4/%E2%82%AC?name=Jos%C3%A9%20%C3%91"),
    ("http://h/a\"<>`{}|\\^b", "/a%22%3C%3E%60%7B%7D%7C%5C%5Eb"),
    ("http://h/ocpi/2.2.1/tariffs/CO/ABC/dc-fast?date_from=2026-01-01T00:00:00Z&limit=100&offset=0",
     "/ocpi/2.2.1/tariffs/CO/ABC/dc-fast?date_from=2026-01-01T00:00:00Z&limit=100&offset=0"),
    ("http://h/a?x=a?b/c", "/a?x=a?b/c"),
])
def test_request_target_escaping(url: str, target: str) -> None:
    assert request_target(url) == target


# -- PlatformClient over http1 ------------------------------------------------------------------


def platform_client(server_or_port: Server | int, **kw: Any) -> PlatformClient:
    port = server_or_port if isinstance(server_or_port, int) else server_or_port.port
    options: dict[str, Any] = dict(platform="test", base_url=f"http://127.0.0.1:{port}/api", transport=None,
                                   concurrency=2, retries=2, retry_delay=0.001, timeout=2.0)
    options.update(kw)
    return PlatformClient(**options)


def slots(client: PlatformClient) -> list[Connection | httpx.AsyncClient]:
    queue = client._slots
    items = [queue.get_nowait() for _ in range(queue.qsize())]
    for item in items:
        queue.put_nowait(item)
    return items


def test_platform_client_uses_http1_without_a_proxy() -> None:
    async def go() -> None:
        client = platform_client(8080)
        try:
            assert client._origin == Origin("http", "127.0.0.1", 8080)
            assert [type(s) for s in slots(client)] == [Connection, Connection]
        finally:
            await client.aclose()

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
            assert len(srv.requests) == 1 and len(slots(client)) == 1  # one slot is out, carrying it
            started = time.monotonic()
            await client.aclose()
            with pytest.raises(errors.PlatformError):
                await pending
            assert time.monotonic() - started < 5  # failed at once, not after the 30 s timeout

    run(go())


def test_platform_client_retries_a_503_then_succeeds() -> None:
    async def go() -> None:
        busy = answer(b'{"status_message": "busy"}', "503 Service Unavailable", "Content-Type: application/json")
        async with Server([busy, answer(b'{"data": [1, 2]}')]) as srv:
            client = platform_client(srv)
            try:
                r = await client.request("GET", "things?x=1")
            finally:
                await client.aclose()
            assert (r.status, r.body) == (200, {"data": [1, 2]})
            assert client.counters.retries == 1 and client.counters.by_method == {"GET": 2}
            assert len(srv.requests) == 2
            first, second = (parse(raw) for raw in srv.requests)
            assert first[0] == second[0] == "GET /api/things?x=1 HTTP/1.1"
            assert first[1]["x-request-id"] == second[1]["x-request-id"] == r.request_id

    run(go())


def test_platform_client_sends_its_headers_on_the_wire() -> None:
    async def go() -> None:
        reply = answer(b'{"ok": true}', "200 OK", "X-Correlation-ID: from-server")
        async with Server([reply]) as srv:
            client = platform_client(srv)
            try:
                r = await client.request("PUT", "/tariffs/CO/ABC/dc-fast", json_body={"id": "dc-fast"})
            finally:
                await client.aclose()
            assert (r.status, r.body, r.correlation_id) == (200, {"ok": True}, "from-server")
            assert len(srv.requests) == 1
            line, headers, body = parse(srv.requests[0])
            assert line == "PUT /api/tariffs/CO/ABC/dc-fast HTTP/1.1"
            assert headers["host"] == f"127.0.0.1:{srv.port}"
            assert uuid.UUID(headers["x-request-id"]) and headers["x-request-id"] == r.request_id
            assert headers["x-correlation-id"] == RUN_CORRELATION_ID
            assert headers["accept-encoding"] == "gzip, deflate"
            assert headers["accept"] == "application/json"
            assert headers["content-type"] == "application/json"
            assert headers["user-agent"].startswith("reconciler/")
            assert headers["content-length"] == str(len(body)) and body == b'{"id":"dc-fast"}'

    run(go())


def test_platform_client_decodes_a_gzip_json_answer() -> None:
    async def go() -> None:
        payload = b'{"data": {"id": "T1"}}'
        reply = answer(gzip.compress(payload), "200 OK", "Content-Encoding: gzip", "Content-Type: application/json")
        async with Server([reply]) as srv:
            client = platform_client(srv)
            try:
                r = await client.request("GET", "t")
            finally:
                await client.aclose()
            assert r.body == {"data": {"id": "T1"}}

    run(go())


def test_platform_client_post_to_a_closed_port_is_not_sent_after_its_retries(refused_port: int) -> None:
    async def go() -> None:
        client = platform_client(refused_port)
        try:
            with pytest.raises(errors.NotSent) as info:
                await client.request("POST", "sessions", json_body={"id": "S1"})
        finally:
            await client.aclose()
        assert f"cannot connect to 127.0.0.1:{refused_port}" in str(info.value)
        assert isinstance(info.value.__cause__, Http1Error) and info.value.__cause__.sent is False
        # NotSent never left this machine: even a POST is tried 1 + retries times.
        assert client.counters.by_method == {"POST": 3} and client.counters.retries == 2

    run(go())


def test_platform_client_post_closed_after_sending_is_outcome_unknown_and_sent_once() -> None:
    async def go() -> None:
        async with Server([DROP, OK, OK]) as srv:
            client = platform_client(srv)
            try:
                with pytest.raises(errors.OutcomeUnknown, match="may or may not have taken effect") as info:
                    await client.request("POST", "sessions", json_body={"id": "S1"})
            finally:
                await client.aclose()
            assert isinstance(info.value.__cause__, errors.TransportError)
            assert [parse(r)[0] for r in srv.requests] == ["POST /api/sessions HTTP/1.1"]
            assert client.counters.by_method == {"POST": 1} and client.counters.retries == 0

    run(go())


def test_platform_client_post_on_a_stale_connection_is_not_resent() -> None:
    async def go() -> None:
        # concurrency=1: the POST reuses the GET's keep-alive connection, which the server closes.
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


def test_platform_client_get_closed_without_answer_is_retried() -> None:
    async def go() -> None:
        async with Server([DROP, answer(b'{"v": 1}')]) as srv:
            client = platform_client(srv)
            try:
                r = await client.request("GET", "x")
            finally:
                await client.aclose()
            assert r.body == {"v": 1} and client.counters.retries == 1 and len(srv.requests) == 2

    run(go())


def test_platform_client_times_out() -> None:
    async def go() -> None:
        async with Server([HANG]) as srv:
            client = platform_client(srv, timeout=0.2, retries=0)
            started = time.monotonic()
            try:
                with pytest.raises(errors.RequestTimeout):
                    await client.request("GET", "slow")
            finally:
                await client.aclose()
            assert 0.19 <= time.monotonic() - started < 1.0

    run(go())


def test_platform_client_runs_concurrent_requests_on_its_slots() -> None:
    async def go() -> None:
        slow = Say([0.1, answer(b"{}")])
        async with Server([slow, slow, slow, slow]) as srv:
            client = platform_client(srv)
            try:
                await asyncio.gather(*(client.request("GET", f"r{i}") for i in range(4)))
            finally:
                await client.aclose()
            assert srv.connections == 2 and len(srv.requests) == 4  # concurrency=2: two keep-alive connections

    run(go())


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY"])
def test_platform_client_with_a_proxy_in_the_environment_uses_httpx(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "http://proxy.internal:3128")

    async def go() -> None:
        client = platform_client(8080)
        try:
            assert client._origin is None
            assert all(isinstance(s, httpx.AsyncClient) for s in slots(client)) and len(slots(client)) == 2
        finally:
            await client.aclose()

    run(go())


def test_platform_client_with_no_proxy_for_its_host_uses_http1(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")

    async def go() -> None:
        client = platform_client(8080)
        try:
            assert client._origin is not None
            assert all(isinstance(s, Connection) for s in slots(client))
        finally:
            await client.aclose()

    run(go())


def test_platform_client_with_a_transport_uses_httpx() -> None:
    async def go() -> None:
        client = platform_client(8080, transport=httpx.MockTransport(lambda request: httpx.Response(200)))
        try:
            assert client._origin is None
            assert all(isinstance(s, httpx.AsyncClient) for s in slots(client))
        finally:
            await client.aclose()

    run(go())


def test_platform_client_sends_a_url_on_another_port_to_that_port() -> None:
    async def go() -> None:
        async with Server([answer(b'"home"')]) as home, Server([answer(b'"elsewhere"')]) as other:
            client = platform_client(home)
            try:
                r = await client.request("GET", other.url("/file"))
            finally:
                await client.aclose()
            assert r.body == "elsewhere"
            assert home.requests == [] and len(other.requests) == 1

    run(go())


def _prefix_ports() -> tuple[socket.socket, socket.socket] | None:
    """Two listening loopback sockets whose ports are p and p*10+d (so "host:p" prefixes "host:p*10+d")."""
    rng = random.Random()
    for _ in range(40):  # bounded
        p = rng.randrange(1025, 6553)
        for d in range(10):
            q = p * 10 + d
            if q > 65535:
                break
            a, b = socket.socket(), socket.socket()
            try:
                a.bind(("127.0.0.1", p))
                b.bind(("127.0.0.1", q))
            except OSError:
                a.close()
                b.close()
                continue
            a.listen()
            b.listen()
            return a, b
    return None


def test_platform_client_does_not_send_a_url_of_another_origin_sharing_its_prefix() -> None:
    pair = _prefix_ports()
    if pair is None:
        pytest.skip("no free pair of loopback ports p, p*10+d")
    sock_a, sock_b = pair

    async def go() -> None:
        home = Server([answer(b'"home"')])
        other = Server([answer(b'"elsewhere"')])
        home._server = await asyncio.start_server(home._serve, sock=sock_a)
        other._server = await asyncio.start_server(other._serve, sock=sock_b)
        try:
            client = platform_client(home, base_url=f"http://127.0.0.1:{home.port}")
            try:
                assert other.url("/file").startswith(client.base_url)
                r = await client.request("GET", other.url("/file"))
            finally:
                await client.aclose()
            assert r.body == "elsewhere"
            assert home.requests == [] and len(other.requests) == 1
        finally:
            await home.__aexit__()
            await other.__aexit__()

    run(go())
