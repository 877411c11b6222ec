"""Who is calling: the SIEM's API-key -> JWT flow and the generic OCPI credentials-token flow.

SIEM (guide §4.3.5): `POST {base}/auth/token` with `x-api-key` returns a short-lived JWT; every
other call carries `Authorization: Bearer <jwt>`. The real SIEM signs RS256 with a UPME key; the
simulator signs HS256 with a random per-app secret (stdlib hmac) since clients never verify it.
Claims: `sub` ("CC*PID"), `country_code`, `party_id`, `iat`, `exp`, `jti`. Revocation is a denylist
by `jti` kept until the token's own expiry (guide §4.3.2). Clock skew of ±5 s is tolerated on `iat`.

Generic OCPI 2.2.1 receivers: `Authorization: Token <base64(credentials token)>`; the raw token is
accepted too (OCPI 2.1.1 style), as many 2.2.1 implementations do.

`Authenticator.identify(header)` returns the caller's `Party` or raises a 401 `OcpiError`. The key
and token mappings are read live, so credentials registered after the app was built are honoured.

`jwt_sign` and `jwt_claims` sign and check the HS256 JWTs of every simulator that issues tokens
(the SIEM's here, ChileMedido's in `chilemedido.tokens`); each keeps its own claims and messages.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.sandbox import envelope

CLOCK_SKEW = 5.0


@dataclass(frozen=True)
class Party:
    """A caller: the OCPI party it was registered for, and how it proved it."""

    country_code: str
    party_id: str
    jti: str | None = None  # set for a JWT (it can be revoked); None for a credentials token

    @property
    def key(self) -> str:
        return f"{self.country_code}*{self.party_id}".upper()

    def owns(self, country_code: str, party_id: str) -> bool:
        return country_code.upper() == self.country_code.upper() and party_id.upper() == self.party_id.upper()


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class JwtError(ValueError):
    """A token that is not a JWT signed with the simulator's secret; the message says why
    ("not a JWT", "malformed JWT", "bad signature")."""


def jwt_sign(secret: bytes, claims: dict[str, Any], **header: str) -> str:
    """An HS256 JWT of `claims`; `header` adds fields after `alg` and `typ` (a `kid`)."""
    head = _b64url(json.dumps({"alg": "HS256", "typ": "JWT", **header}, separators=(",", ":")).encode())
    payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(secret, f"{head}.{payload}".encode("ascii"), hashlib.sha256).digest()
    return f"{head}.{payload}.{_b64url(signature)}"


def jwt_claims(secret: bytes, token: str) -> Any:
    """The claims (any JSON value: the caller checks their shape) of a well-formed HS256 JWT signed
    with `secret`; raises `JwtError` otherwise. Expiry is the caller's business."""
    parts = token.split(".")
    if len(parts) != 3:
        raise JwtError("not a JWT")
    try:
        header = json.loads(_unb64url(parts[0]))
        claims = json.loads(_unb64url(parts[1]))
        signature = _unb64url(parts[2])
    except (ValueError, binascii.Error):
        raise JwtError("malformed JWT") from None
    expected = hmac.new(secret, f"{parts[0]}.{parts[1]}".encode("ascii"), hashlib.sha256).digest()
    if not isinstance(header, dict) or header.get("alg") != "HS256" or not hmac.compare_digest(signature, expected):
        raise JwtError("bad signature")
    return claims


class Authenticator:
    """Issues and checks bearer JWTs; checks OCPI credentials tokens."""

    def __init__(
        self,
        api_keys: Mapping[str, tuple[str, str]],
        tokens: Mapping[str, tuple[str, str]],
        *,
        ttl: int,
        clock: Callable[[], float],
    ) -> None:
        self.api_keys = api_keys
        self.tokens = tokens
        self.ttl = ttl
        self._clock = clock
        self._secret = secrets.token_bytes(32)
        self._revoked: dict[str, float] = {}
        # Tokens whose signature was already checked -> their claims (expiry is checked every call).
        self._verified: dict[str, dict[str, object]] = {}

    # -- SIEM: API key -> JWT ---------------------------------------------------------------

    def issue(self, api_key: str | None) -> dict[str, Any]:
        """The body of a successful `POST /auth/token`, or a 401 for a missing/unknown key."""
        if not api_key:
            raise envelope.unauthorized("Missing x-api-key header")
        party = self._lookup(self.api_keys, api_key)
        if party is None:
            raise envelope.unauthorized("Unknown or revoked API key")
        now = int(self._clock())
        claims = {
            "iss": "siem-sandbox",
            "sub": f"{party[0]}*{party[1]}".upper(),
            "country_code": party[0],
            "party_id": party[1],
            "scope": "cpo",
            "iat": now,
            "exp": now + self.ttl,
            "jti": str(uuid.uuid4()),
        }
        return {"access_token": jwt_sign(self._secret, claims, kid="sandbox"), "token_type": "Bearer",
                "expires_in": self.ttl}

    def revoke(self, party: Party) -> None:
        if party.jti is not None:
            self._revoked[party.jti] = self._clock() + self.ttl + CLOCK_SKEW
            self._prune()

    # -- every call -------------------------------------------------------------------------

    def identify(self, authorization: str | None) -> Party:
        if not authorization:
            raise envelope.unauthorized("Missing Authorization header")
        scheme, _, credential = authorization.strip().partition(" ")
        credential = credential.strip()
        if scheme.lower() == "bearer" and credential:
            return self._verify_jwt(credential)
        if scheme.lower() == "token" and credential:
            party = self._credentials_token(credential)
            if party is not None:
                return party
            raise envelope.unauthorized("Unknown credentials token")
        raise envelope.unauthorized("Authorization must be 'Bearer <jwt>' (or 'Token <base64 token>')")

    def _verify_jwt(self, token: str) -> Party:
        claims = self._verified.get(token)
        if claims is None:
            claims = self._check_signature(token)
            if len(self._verified) >= 1024:
                self._verified.clear()
            self._verified[token] = claims
        now = self._clock()
        if not isinstance(claims.get("exp"), int):
            raise envelope.unauthorized("Invalid token: no expiry")
        if now >= claims["exp"]:  # type: ignore[operator]
            raise envelope.unauthorized("Token expired")
        if claims.get("iat", 0) > now + CLOCK_SKEW:  # type: ignore[operator]
            raise envelope.unauthorized("Invalid token: issued in the future")
        jti = str(claims.get("jti"))
        if jti in self._revoked:
            raise envelope.unauthorized("Token revoked")
        return Party(str(claims["country_code"]), str(claims["party_id"]), jti)

    def _check_signature(self, token: str) -> dict[str, object]:
        """The claims of a well-formed token signed with this simulator's key (HS256)."""
        try:
            claims = jwt_claims(self._secret, token)
        except JwtError as e:
            raise envelope.unauthorized(f"Invalid token: {e}") from None
        if not isinstance(claims, dict):
            raise envelope.unauthorized("Invalid token: no expiry")
        return claims

    def _credentials_token(self, credential: str) -> Party | None:
        candidates = [credential]
        try:
            decoded = base64.b64decode(credential, validate=True).decode("utf-8")
            candidates.insert(0, decoded)
        except (ValueError, binascii.Error, UnicodeDecodeError):
            pass
        for candidate in candidates:
            party = self._lookup(self.tokens, candidate)
            if party is not None:
                return Party(party[0], party[1])
        return None

    # -- internals --------------------------------------------------------------------------

    @staticmethod
    def _lookup(mapping: Mapping[str, tuple[str, str]], secret: str) -> tuple[str, str] | None:
        for known, party in list(mapping.items()):
            if hmac.compare_digest(known.encode("utf-8"), secret.encode("utf-8")):
                return party
        return None

    def _prune(self) -> None:
        now = self._clock()
        for jti in [j for j, until in self._revoked.items() if until <= now]:
            del self._revoked[jti]
