"""SIEM and OCPI authentication strategies.

- `ApiKeyJwt`: the SIEM's flow — `POST {base}/auth/token` with `x-api-key` gives a Bearer JWT that
  lives `expires_in` seconds; it is reused until shortly before it expires and renewed once on a 401
  (`bearer.BearerAuth`).
- `OcpiToken`: the standard OCPI 2.2.1 header `Authorization: Token <base64(token)>`.
"""

from __future__ import annotations

import base64
import time
from typing import Any

from reconciler.providers import errors
from reconciler.providers.bearer import BearerAuth
from reconciler.providers.http import PlatformClient


class ApiKeyJwt(BearerAuth):
    def __init__(self, api_key: str, *, margin: float = 60.0) -> None:
        self._api_key = api_key
        self._margin = margin
        self._renew_at = 0.0

    def expired(self) -> bool:
        return self.token is None or time.monotonic() >= self._renew_at

    async def obtain(self, client: PlatformClient) -> None:
        client.counters.auth += 1
        try:
            resp = await client.send_raw("POST", "auth/token", json_body={},
                                         headers={"x-api-key": self._api_key}, idempotent=True)
        except errors.AuthError as exc:
            raise errors.AuthError(
                "the SIEM refused the API key (POST auth/token answered "
                f"{exc.status}); check the platform's api_key", status=exc.status, platform=client.platform,
                method="POST", path="auth/token") from exc
        body = resp.body if isinstance(resp.body, dict) else {}
        data: dict[str, Any] = body["data"] if isinstance(body.get("data"), dict) else body
        token = data.get("access_token")
        if not isinstance(token, str) or not token:
            raise errors.PlatformRejected("POST auth/token answered without an access_token",
                                          platform=client.platform, method="POST", path="auth/token")
        try:
            ttl = float(data.get("expires_in") or 3600)
        except (TypeError, ValueError):
            ttl = 3600.0
        margin = self._margin if ttl > 2 * self._margin else ttl / 4
        self.token = token
        self._renew_at = time.monotonic() + ttl - margin


class OcpiToken:
    def __init__(self, token: str) -> None:
        self._header = "Token " + base64.b64encode(token.encode()).decode()

    def invalidate(self, rejected: str | None) -> None:
        return None

    async def headers(self, client: PlatformClient) -> dict[str, str]:
        return {"Authorization": self._header}
