"""`BearerAuth`: the `http.Auth` of every platform that trades a credential for a bearer token.

The SIEM (API key -> JWT), SEC (RUT and password -> IdToken) and ChileMedido (refresh token ->
access token) differ only in how a token is obtained and when it must be renewed; the rest is
here, done once: the token is obtained on first use and reused until `expired()`; concurrent
requests that find it expired wait on the client's auth lock and only the first renews it; and
when requests in flight are all refused with 401, only the first one (refused with the current
token) drops it, so one renewal serves them all.
"""

from __future__ import annotations

import abc

from reconciler.providers.http import PlatformClient


class BearerAuth(abc.ABC):
    token: str | None = None

    def expired(self) -> bool:
        """Whether a new token is needed before the next request (the default: there is none yet)."""
        return self.token is None

    @abc.abstractmethod
    async def obtain(self, client: PlatformClient) -> None:
        """Set `token` (and whatever `expired` judges by), with the client's `send_raw`; raise an
        `errors.AuthError` naming the configuration fields to check when the credential is refused.
        Called under `client.auth_lock`, by one request at a time."""

    def invalidate(self, rejected: str | None) -> None:
        if rejected is None or rejected == f"Bearer {self.token}":
            self.token = None

    async def headers(self, client: PlatformClient) -> dict[str, str]:
        if self.expired():
            async with client.auth_lock:
                if self.expired():
                    await self.obtain(client)
        return {"Authorization": f"Bearer {self.token}"}
