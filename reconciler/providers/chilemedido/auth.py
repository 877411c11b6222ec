"""ChileMedido authentication: the gateway's refresh token, access tokens, and the token cache.

The guide's flow: `POST /auth/token/refresh {"refreshToken"}` answers `{"accessToken",
"refreshToken"}`. The access token is reused until shortly before its JWT `exp` (or renewed once
on a 401, by the HTTP client); every refresh also hands out a new refresh token, valid two months
from then. The token given by the administrator stays usable until its own `exp`, so without a
cache nothing breaks; with `token_cache` the newest refresh token is kept in a file outside the
repository (mode 0600) and used next time, so a gateway that runs at least every two months never
needs a new token from the administrator.

`expiry(token)` reads a JWT's `exp` without verifying the signature (only the platform can, and
it does): `validate` and `plan` warn when fewer than 14 days are left and stop with instructions
when the token has expired. Every token seen is registered with `core.redact`.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from reconciler.core import redact
from reconciler.providers import errors
from reconciler.providers.bearer import BearerAuth
from reconciler.providers.chilemedido import wire
from reconciler.providers.http import PlatformClient

WARN_DAYS = 14
RENEW_MARGIN = 60.0       # seconds before an access token's exp at which it is renewed
DEFAULT_ACCESS_TTL = 3600.0


def expiry(token: str) -> float | None:
    """The `exp` claim of a JWT (Unix seconds), read without verifying it; None if unreadable."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    return float(exp) if isinstance(exp, int | float) and not isinstance(exp, bool) else None


class CacheError(Exception):
    """The token cache cannot be used safely; the message says why and what to do."""


@dataclass
class TokenCache:
    """A file holding the newest refresh token for one platform URL (JSON, mode 0600)."""

    path: Path
    url: str

    def load(self) -> str | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise CacheError(f"the token cache {self.path} can be read by other users (mode "
                             f"{stat.S_IMODE(st.st_mode):04o}); run: chmod 600 {self.path}")
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CacheError(f"the token cache {self.path} is unreadable ({type(exc).__name__}); delete it to "
                             "start again from the configured refresh token") from None
        if not isinstance(doc, dict) or doc.get("url") != self.url or not isinstance(doc.get("refresh_token"), str):
            return None  # written for another platform URL: not ours to use
        token: str = doc["refresh_token"]
        redact.register(token)
        return token

    def save(self, token: str) -> None:
        """Atomically replace the cache (temp file created 0600, fsync, rename)."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"url": self.url, "refresh_token": token, "saved_at": int(time.time())}, f)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise


def newest(*tokens: str | None) -> str | None:
    """The token that expires last (tokens whose expiry cannot be read count as oldest)."""
    best: str | None = None
    best_exp = float("-inf")
    for tok in tokens:
        if not tok:
            continue
        exp = expiry(tok)
        key = exp if exp is not None else float("-inf")
        if best is None or key > best_exp:
            best, best_exp = tok, key
    return best


class RefreshTokenAuth(BearerAuth):
    """`Auth` for the HTTP client: Bearer access tokens obtained with the rotating refresh token."""

    def __init__(self, refresh_token: str, *, cache: TokenCache | None = None,
                 what: str = "the refresh token") -> None:
        redact.register(refresh_token)
        self.refresh_token = refresh_token
        self._cache = cache
        self._what = what
        self._renew_at = 0.0

    def expired(self) -> bool:
        return self.token is None or time.time() >= self._renew_at

    async def obtain(self, client: PlatformClient) -> None:
        """An access token (and perhaps a new refresh token) for the refresh token."""
        client.counters.auth += 1
        try:
            resp = await client.send_raw("POST", wire.REFRESH_PATH, json_body={wire.REFRESH_TOKEN: self.refresh_token},
                                         idempotent=True)
        except errors.HttpError as exc:
            if exc.status not in (400, 401, 403):
                raise
            raise errors.AuthError(
                f"ChileMedido refused {self._what} (POST {wire.REFRESH_PATH} answered {exc.message}). "
                "It may have expired or been revoked: ask a ChileMedido administrator for a new refresh token for "
                "this gateway", status=exc.status, platform=client.platform) from None
        body = resp.body if isinstance(resp.body, dict) else {}
        access, fresh = body.get(wire.ACCESS_TOKEN), body.get(wire.REFRESH_TOKEN)
        if not isinstance(access, str) or not access:
            raise errors.PlatformRejected(f"POST {wire.REFRESH_PATH} answered without an {wire.ACCESS_TOKEN}",
                                          platform=client.platform, method="POST", path=wire.REFRESH_PATH)
        redact.register(access)
        self.token = access
        exp = expiry(access)
        now = time.time()
        ttl = (exp - now) if exp is not None else DEFAULT_ACCESS_TTL
        margin = RENEW_MARGIN if ttl > 4 * RENEW_MARGIN else ttl / 4
        self._renew_at = now + ttl - margin
        if isinstance(fresh, str) and fresh:
            redact.register(fresh)
            if newest(fresh, self.refresh_token) == fresh:
                self.refresh_token = fresh
                if self._cache is not None:
                    self._cache.save(fresh)


class ConsumerToken:
    """`Auth` for the output API: the consumer's access token, sent as `Authorization: Bearer`."""

    def __init__(self, token: str) -> None:
        redact.register(token)
        self._header = f"Bearer {token}"

    def invalidate(self, rejected: str | None) -> None:
        return None

    async def headers(self, client: PlatformClient) -> dict[str, str]:
        return {"Authorization": self._header}
