"""The error tree of platform calls, on two axes: where it came from and what to do about it.

    PlatformError                      any failure talking to a platform (never leaks httpx types)
    ├── TransportError                 no HTTP answer: connection refused, reset, TLS failure
    │   ├── NotSent                    no connection could be made: the request never left
    │   └── RequestTimeout             no answer in time
    ├── HttpError                      an HTTP answer with a failure status (.status)
    │   ├── AuthError                  401 / 403, or the sign-in itself was refused
    │   ├── NotFound                   404
    │   ├── RateLimited                429 (.retry_after seconds, when the platform said)
    │   ├── ClientError                other 4xx: the request is wrong; retrying cannot help
    │   └── ServerError                5xx
    ├── PlatformRejected               HTTP 2xx but the platform's own status says no (OCPI 2xxx/3xxx)
    └── OutcomeUnknown                 a non-idempotent write was sent and no answer came back

`temporary` says whether the same request may succeed later (5xx, 429, timeouts, transport):
only idempotent requests are retried, and only on temporary errors. The httpx exception, when
there is one, is chained as `__cause__`.
"""

from __future__ import annotations


class PlatformError(Exception):
    temporary = False
    detail: str | None = None   # what the failure leaves behind and what to do, when more than the default
    notes: tuple[str, ...] = ()  # what the user should read of the change it stopped (as `ApplyResponse.notes`)

    def __init__(self, message: str, *, platform: str | None = None, method: str | None = None,
                 path: str | None = None, request_id: str | None = None,
                 correlation_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.platform = platform
        self.method = method
        self.path = path
        self.request_id = request_id
        self.correlation_id = correlation_id

    def __str__(self) -> str:
        where = f"{self.method} {self.path}: " if self.method and self.path else ""
        ids = f" (X-Request-ID {self.request_id})" if self.request_id else ""
        return f"{where}{self.message}{ids}"


class TransportError(PlatformError):
    temporary = True


class NotSent(TransportError):
    """No connection could be made (refused, unreachable, TLS handshake failed): nothing was sent,
    so even a non-idempotent request may be repeated."""


class RequestTimeout(TransportError):
    pass


class HttpError(PlatformError):
    def __init__(self, message: str, *, status: int, body: object = None, **kw: str | None) -> None:
        super().__init__(message, **kw)
        self.status = status
        self.body = body


class AuthError(HttpError):
    """An authentication or authorisation failure; `detail` names the platform and what to check."""


class NotFound(HttpError):
    pass


class RateLimited(HttpError):
    temporary = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.retry_after = retry_after


class ClientError(HttpError):
    pass


class ServerError(HttpError):
    temporary = True


class PlatformRejected(PlatformError):
    def __init__(self, message: str, *, status_code: int | None = None, **kw: str | None) -> None:
        super().__init__(message, **kw)
        self.status_code = status_code


class OutcomeUnknown(PlatformError):
    """A non-idempotent write may or may not have taken effect; it must not be blindly retried."""
