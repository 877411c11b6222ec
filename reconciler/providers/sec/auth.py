"""SEC sign-in: one session per account (OPC, PSE), kept alive across the 30-minute idle window.

`POST /sign-in {"username": <RUT>, "password": ...}` answers `{"IdToken": <JWT>}`; the token dies
after 30 minutes without a call and every call extends it (a sliding window, not a fixed expiry).
`SecSession` is the `http.Auth` of one account's `PlatformClient`: it signs in on first use,
signs in again *before* the window can have closed (`margin` seconds early, judged from the
start of the last successful call, which the provider reports with `touch`), and once more when
a call answers 401 (the `PlatformClient` then repeats that call). Credentials never appear in a
message: an error names the account and the config fields instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from reconciler.providers import errors
from reconciler.providers.bearer import BearerAuth
from reconciler.providers.http import PlatformClient
from reconciler.providers.sec import wire


class SecSession(BearerAuth):
    def __init__(self, account: str, platform: str, username: str, password: str, *, margin: float = 120.0,
                 window: float = wire.SESSION_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.account = account
        self._platform = platform
        self._username = username
        self._password = password
        self._margin = margin
        self._window = window
        self._clock = clock
        self._active_at = 0.0    # start of the last call the platform answered (sign-in included)
        self._refused: errors.AuthError | None = None
        self.sign_ins = 0

    def expired(self) -> bool:
        return self.token is None or self._clock() - self._active_at >= self._window - self._margin

    def touch(self, started: float) -> None:
        """A call started at `started` (this clock) succeeded: the platform extended the session."""
        if started > self._active_at:
            self._active_at = started

    def now(self) -> float:
        return self._clock()

    async def obtain(self, client: PlatformClient) -> None:
        """Sign in."""
        if self._refused is not None:
            # Wrong credentials stay wrong: do not try them again (accounts may lock after failures).
            raise self._refused
        client.counters.auth += 1
        started = self._clock()
        where = f"platforms.{self._platform}.{self.account}"
        try:
            resp = await client.send_raw("POST", wire.SIGN_IN, idempotent=True,
                                         json_body={wire.USERNAME: self._username, wire.PASSWORD: self._password})
        except errors.AuthError as exc:
            self._refused = errors.AuthError(
                f"SEC refused the sign-in of the {self.account.upper()} account (HTTP {exc.status}): wrong RUT or "
                f"password; check {where}.username and {where}.password", status=exc.status,
                platform=client.platform, method="POST", path=wire.SIGN_IN)
            raise self._refused from None
        except errors.ClientError as exc:
            self._refused = errors.AuthError(
                f"SEC refused the sign-in of the {self.account.upper()} account (HTTP {exc.status}: {exc.message}); "
                f"check {where}.username and {where}.password", status=exc.status, platform=client.platform,
                method="POST", path=wire.SIGN_IN)
            raise self._refused from None
        body = resp.body if isinstance(resp.body, dict) else {}
        token = body.get(wire.ID_TOKEN)
        if not isinstance(token, str) or not token:
            raise errors.PlatformRejected(f"POST {wire.SIGN_IN} answered without an {wire.ID_TOKEN}",
                                          platform=client.platform, method="POST", path=wire.SIGN_IN)
        self.token = token
        self._active_at = started
        self.sign_ins += 1
