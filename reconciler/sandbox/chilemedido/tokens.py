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

import uuid
from dataclasses import dataclass
from typing import Any

from reconciler.sandbox.auth import JwtError, jwt_claims, jwt_sign

ISSUER = "Provider Auth Server"
AUDIENCE = "1"


class TokenError(Exception):
    """The token is not one this simulator accepts; the message says why (sent in the 401)."""


@dataclass(frozen=True)
class Caller:
    """Whose token it is: a meter provider (input API) or an API consumer (output API)."""

    provider: int
    jti: str


def sign(secret: bytes, claims: dict[str, Any]) -> str:
    """A token of `claims`, signed HS256 with the simulator's secret."""
    return jwt_sign(secret, claims)


def claims_of(secret: bytes, token: str) -> dict[str, Any]:
    """The verified claims of `token` (signature only; expiry is the caller's business)."""
    try:
        claims = jwt_claims(secret, token)
    except JwtError as e:
        raise TokenError(str(e)) from None
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
