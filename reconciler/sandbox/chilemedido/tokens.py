"""ChileMedido simulator: refresh and access tokens (JWT), issued and checked.

The real platform signs RS256 JWTs whose claims are those of the guide's example: `jti`, `iat`,
`exp`, `aud` ("1"), `iss` ("Provider Auth Server"), `sub` (the provider's ChileMedido id). The
simulator signs HS256 with a secret kept in its data store (so tokens survive a restart) and adds
`typ` ("refresh" or "access") so one cannot stand in for the other. Clients never verify the
signature; they read `exp`.

Rotation: `POST /auth/token/refresh` answers a new access token and a new refresh token. The old
refresh token stays valid until its own `exp` (the guide accepts both the administrator's token
and the one a refresh returns), unless it was revoked through the admin API.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from typing import Any

ISSUER = "Provider Auth Server"
AUDIENCE = "1"


class TokenError(Exception):
    """The token is not one this simulator accepts; the message says why (sent in the 401)."""


@dataclass(frozen=True)
class Caller:
    """Whose token it is: a meter provider (input API) or an API consumer (output API)."""

    provider: int
    jti: str


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(secret: bytes, claims: dict[str, Any]) -> str:
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = b64url(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(secret, f"{header}.{payload}".encode("ascii"), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64url(signature)}"


def claims_of(secret: bytes, token: str) -> dict[str, Any]:
    """The verified claims of `token` (signature only; expiry is the caller's business)."""
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError("not a JWT")
    try:
        header = json.loads(unb64url(parts[0]))
        claims = json.loads(unb64url(parts[1]))
        signature = unb64url(parts[2])
    except (ValueError, binascii.Error):
        raise TokenError("malformed JWT") from None
    expected = hmac.new(secret, f"{parts[0]}.{parts[1]}".encode("ascii"), hashlib.sha256).digest()
    if not isinstance(header, dict) or header.get("alg") != "HS256" or not hmac.compare_digest(signature, expected):
        raise TokenError("bad signature")
    if not isinstance(claims, dict) or not isinstance(claims.get("exp"), int):
        raise TokenError("no expiry")
    return claims


def new_claims(provider: int, kind: str, now: int, ttl: int) -> dict[str, Any]:
    return {"jti": str(uuid.uuid4()), "iat": now, "exp": now + ttl, "aud": AUDIENCE, "iss": ISSUER,
            "sub": str(provider), "typ": kind}


def verify(secret: bytes, token: str, kind: str, now: float, revoked: set[str] | dict[str, Any]) -> Caller:
    """The caller of a valid, unexpired, unrevoked token of `kind` ("refresh" or "access")."""
    claims = claims_of(secret, token)
    if claims.get("typ") != kind:
        raise TokenError(f"this is not an {kind} token" if kind == "access" else f"this is not a {kind} token")
    if now >= claims["exp"]:
        raise TokenError(f"the {kind} token expired")
    jti = str(claims.get("jti"))
    if jti in revoked:
        raise TokenError(f"the {kind} token was revoked")
    try:
        provider = int(claims["sub"])
    except (KeyError, TypeError, ValueError):
        raise TokenError("no provider in the token") from None
    return Caller(provider, jti)
