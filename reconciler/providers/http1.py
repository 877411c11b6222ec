"""A lean HTTP/1.1 client connection for the platform calls sent over the network.

Reading a national estate means tens of thousands of small requests to one origin. httpx spends
most of a millisecond of CPU on each (URL and header models, the auth and redirect machinery,
httpcore's pool and anyio's stream wrappers), which on a small machine paces the whole plan. This
module does only what `PlatformClient` needs, on asyncio streams: one request at a time on one
keep-alive connection, bodies framed by Content-Length, chunked transfer coding or the end of the
connection, gzip/deflate content codings, TLS with the caller's (always verifying) context.

`PlatformClient` uses it for requests to its own origin when no proxy is configured in the
environment; everything else (in-process ASGI transports, proxies, other hosts) goes through httpx.
Errors are raised as `Http1Error` (no usable answer) or `Http1Timeout`; the caller maps them.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
import urllib.request
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

MAX_HEAD = 64 * 1024            # status line + headers
MAX_BODY = 256 * 1024 * 1024    # a platform answer larger than this is refused
_MAX_INTERIM = 10               # 1xx answers skipped before the final one
_TARGET_SAFE = "/%:@!$&'()*+,;=-._~"
_STATUS = re.compile(r"[0-9]{3}")
_DIGITS = re.compile(r"[0-9]+")
_HEX = re.compile(rb"[0-9A-Fa-f]+")
_QUERY_SAFE = _TARGET_SAFE + "?"


class Http1Error(Exception):
    """No usable HTTP answer: connection refused or reset, TLS failure, malformed response."""

    def __init__(self, message: str, *, sent: bool = True) -> None:
        super().__init__(message)
        self.sent = sent  # whether any part of the request may have reached the server


class Http1Timeout(Http1Error):
    """No answer (or no progress) within the timeout."""


class Headers(Mapping[str, str]):
    """Response headers: case-insensitive names; repeated headers joined with ", "."""

    __slots__ = ("_d",)

    def __init__(self, items: dict[str, str]) -> None:
        self._d = items  # lower-case names

    def __getitem__(self, key: str) -> str:
        return self._d[key.lower()]

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return self._d.get(key.lower(), default)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._d

    def __iter__(self) -> Iterator[str]:
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)

    def __repr__(self) -> str:
        return f"Headers({self._d!r})"


@dataclass(frozen=True)
class Origin:
    scheme: str
    host: str
    port: int

    @classmethod
    def of(cls, url: str) -> Origin | None:
        """The origin of an http(s) URL, or None for anything this client does not speak."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            return None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return None
        return cls(parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80))

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"

    def proxied(self) -> bool:
        """Whether the environment routes this origin through a proxy (HTTP(S)_PROXY, ALL_PROXY, NO_PROXY)."""
        proxies = urllib.request.getproxies_environment()
        if not (proxies.get(self.scheme) or proxies.get("all")):
            return False
        bypass = getattr(urllib.request, "proxy_bypass_environment")  # noqa: B009 - not in typeshed
        return not bypass(self.host, proxies)


def request_target(url: str) -> str:
    """The origin-form target (path and query) of an absolute URL, percent-encoded where needed."""
    parts = urlsplit(url)
    path = quote(parts.path or "/", safe=_TARGET_SAFE)
    return path + ("?" + quote(parts.query, safe=_QUERY_SAFE) if parts.query else "")


@dataclass
class RawResponse:
    status: int
    reason: str
    headers: Headers
    content: bytes


class Connection:
    """One keep-alive HTTP/1.1 connection to an origin, (re)opened on demand. Not concurrent:
    the caller sends one request at a time on it."""

    def __init__(self, origin: Origin, *, ssl_context: ssl.SSLContext | None, timeout: float) -> None:
        self.origin = origin
        self.timeout = timeout
        self._ssl = ssl_context if origin.scheme == "https" else None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._host_line = f"Host: {origin.host_header}\r\n"

    # -- connection --------------------------------------------------------------------------

    def _usable(self) -> bool:
        r, w = self._reader, self._writer
        if r is None or w is None or w.transport.is_closing():
            return False
        # An idle connection with data or an end-of-stream waiting was closed (or broken) by the server.
        return not (r.at_eof() or getattr(r, "_buffer", None) or r.exception() is not None)

    async def _open(self) -> None:
        self.close()
        o = self.origin
        try:
            async with asyncio.timeout(self.timeout):
                self._reader, self._writer = await asyncio.open_connection(
                    o.host, o.port, ssl=self._ssl, server_hostname=o.host if self._ssl else None, limit=MAX_HEAD)
        except TimeoutError as exc:
            raise Http1Timeout(f"no connection to {o.host_header} in {self.timeout:g}s", sent=False) from exc
        except ssl.SSLError as exc:
            raise Http1Error(f"TLS with {o.host_header} failed: {exc.reason or exc}", sent=False) from exc
        except OSError as exc:
            raise Http1Error(f"cannot connect to {o.host_header}: {exc.strerror or exc}", sent=False) from exc

    def close(self) -> None:
        w, self._reader, self._writer = self._writer, None, None
        if w is not None:
            w.close()

    async def aclose(self) -> None:
        w = self._writer
        self.close()
        if w is not None:
            with contextlib.suppress(OSError, TimeoutError, ssl.SSLError):
                await asyncio.wait_for(w.wait_closed(), 1.0)

    # -- exchange ----------------------------------------------------------------------------

    async def request(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None, *,
                      resend_if_closed: bool = True) -> RawResponse:
        """Send one request and read its whole answer.

        A server may close an idle keep-alive connection just as a request is written on it. If
        the connection was reused and closed before any byte of an answer, the request is sent
        once more on a new connection when `resend_if_closed` (idempotent requests); otherwise
        `Http1Error` is raised, since the server may have processed it.
        """
        head = self._head(method, url, headers, body)
        reused = self._usable()
        if not reused:
            await self._open()
        try:
            return await self._exchange(method, head, body)
        except _ClosedBeforeAnswer as exc:
            self.close()
            if not (reused and resend_if_closed):
                raise Http1Error(self._closed_message(reused)) from exc
        except BaseException:
            self.close()
            raise
        await self._open()
        try:
            return await self._exchange(method, head, body)
        except _ClosedBeforeAnswer as exc:
            self.close()
            raise Http1Error(self._closed_message(False)) from exc
        except BaseException:
            self.close()
            raise

    def _closed_message(self, reused: bool) -> str:
        text = "the server closed the connection without answering"
        if self._ssl is not None and not reused:
            text += " (over TLS, this is also how a server refuses a missing or untrusted client certificate)"
        return text

    def _head(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None) -> bytes:
        lines = [f"{method} {request_target(url)} HTTP/1.1\r\n", self._host_line]
        for name, value in headers.items():
            if "\r" in value or "\n" in value or "\r" in name or "\n" in name or ":" in name:
                raise Http1Error(f"invalid character in the {name!r} header", sent=False)
            lines.append(f"{name}: {value}\r\n")
        if body is not None or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body or b'')}\r\n")
        lines.append("\r\n")
        try:
            return "".join(lines).encode("latin-1")
        except UnicodeEncodeError as exc:
            raise Http1Error("a header value is not Latin-1 text", sent=False) from exc

    async def _exchange(self, method: str, head: bytes, body: bytes | None) -> RawResponse:
        reader, writer = self._reader, self._writer
        assert reader is not None and writer is not None
        try:
            async with asyncio.timeout(self.timeout) as deadline:
                try:
                    writer.write(head + body if body else head)
                    await writer.drain()
                except ConnectionError as exc:
                    raise _ClosedBeforeAnswer from exc
                for _ in range(_MAX_INTERIM + 1):
                    status, reason, headers, keep = await self._read_head(reader)
                    if status >= 200 or status == 101:
                        break
                else:
                    raise Http1Error("too many interim (1xx) answers")
                if status == 101:
                    raise Http1Error("the server switched protocols")
                content, keep = await self._read_body(reader, deadline, method, status, headers, keep)
        except TimeoutError as exc:
            raise Http1Timeout(f"no answer from {self.origin.host_header} in {self.timeout:g}s") from exc
        except (_ClosedBeforeAnswer, Http1Error):
            raise
        except asyncio.IncompleteReadError as exc:
            raise Http1Error("the connection closed in the middle of the answer") from exc
        except asyncio.LimitOverrunError as exc:
            raise Http1Error("the answer's status line or headers are too long") from exc
        except ValueError as exc:  # a number in the answer that the checks above let through
            raise Http1Error(f"malformed answer: {exc}") from exc
        except ssl.SSLError as exc:
            raise Http1Error(f"TLS error: {exc.reason or exc}") from exc
        except (ConnectionError, OSError) as exc:
            raise Http1Error(f"connection failed: {exc.strerror or exc}") from exc
        if not keep:
            self.close()
        return RawResponse(status, reason, headers, _decode(content, headers.get("content-encoding")))

    @staticmethod
    async def _read_head(reader: asyncio.StreamReader) -> tuple[int, str, Headers, bool]:
        try:
            raw = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if not exc.partial:
                raise _ClosedBeforeAnswer from exc
            raise
        except ConnectionResetError as exc:
            raise _ClosedBeforeAnswer from exc
        text = raw[:-4].decode("latin-1")
        status_line, _, rest = text.partition("\r\n")
        version, _, tail = status_line.partition(" ")
        code, _, reason = tail.partition(" ")
        if not version.startswith("HTTP/1.") or not _STATUS.fullmatch(code):
            raise Http1Error(f"not an HTTP/1.x answer: {status_line[:80]!r}")
        items: dict[str, str] = {}
        last = ""
        for line in rest.split("\r\n") if rest else ():
            if line[:1] in (" ", "\t") and last:  # obsolete line folding
                items[last] += " " + line.strip()
                continue
            name, sep, value = line.partition(":")
            if not sep or not name or name != name.strip():
                raise Http1Error(f"malformed header line in the answer: {line[:80]!r}")
            last = name.lower()
            value = value.strip()
            items[last] = f"{items[last]}, {value}" if last in items else value
        headers = Headers(items)
        conn = {t.strip().lower() for t in items.get("connection", "").split(",")}
        keep = "close" not in conn and (version != "HTTP/1.0" or "keep-alive" in conn)
        return int(code), reason, headers, keep

    async def _read_body(self, reader: asyncio.StreamReader, deadline: asyncio.Timeout, method: str, status: int,
                         headers: Headers, keep: bool) -> tuple[bytes, bool]:
        if method == "HEAD" or status in (204, 304):
            return b"", keep
        coding = headers.get("transfer-encoding")
        if coding is not None:
            if coding.split(",")[-1].strip().lower() != "chunked":
                return await self._read_to_end(reader, deadline), False
            return await self._read_chunked(reader, deadline), keep
        length = headers.get("content-length")
        if length is not None:
            values = {v.strip() for v in length.split(",")}
            if len(values) != 1 or not _DIGITS.fullmatch(next(iter(values))):
                raise Http1Error(f"invalid Content-Length in the answer: {length[:40]!r}")
            n = int(values.pop())
            if n > MAX_BODY:
                raise Http1Error(f"the answer is too large ({n} bytes)")
            return (await reader.readexactly(n) if n else b""), keep
        return await self._read_to_end(reader, deadline), False

    async def _read_chunked(self, reader: asyncio.StreamReader, deadline: asyncio.Timeout) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            line = await reader.readuntil(b"\r\n")
            size_text = line.split(b";", 1)[0].strip()
            if not _HEX.fullmatch(size_text):
                raise Http1Error(f"invalid chunk size in the answer: {size_text[:20]!r}")
            size = int(size_text, 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                    pass
                return b"".join(parts)
            total += size
            if total > MAX_BODY:
                raise Http1Error("the answer is too large")
            parts.append(await reader.readexactly(size))
            if await reader.readexactly(2) != b"\r\n":
                raise Http1Error("malformed chunked answer")
            deadline.reschedule(asyncio.get_running_loop().time() + self.timeout)

    async def _read_to_end(self, reader: asyncio.StreamReader, deadline: asyncio.Timeout) -> bytes:
        parts: list[bytes] = []
        total = 0
        while chunk := await reader.read(65536):
            total += len(chunk)
            if total > MAX_BODY:
                raise Http1Error("the answer is too large")
            parts.append(chunk)
            deadline.reschedule(asyncio.get_running_loop().time() + self.timeout)
        return b"".join(parts)


class _ClosedBeforeAnswer(Exception):
    """The server closed the connection before any byte of an answer."""


def _decode(content: bytes, coding: str | None) -> bytes:
    if not coding or not content:
        return content
    for c in reversed([x.strip().lower() for x in coding.split(",") if x.strip()]):
        if c == "identity":
            continue
        try:
            if c in ("gzip", "x-gzip"):
                content = zlib.decompress(content, wbits=47)
            elif c == "deflate":
                try:
                    content = zlib.decompress(content)
                except zlib.error:
                    content = zlib.decompress(content, wbits=-15)  # raw deflate, as some servers send it
            else:
                raise Http1Error(f"the answer uses the content coding {c!r}, which was not asked for")
        except zlib.error as exc:
            raise Http1Error(f"the answer's {c} content cannot be decoded: {exc}") from exc
    return content
