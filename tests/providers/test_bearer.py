"""The three bearer-token sign-ins (SIEM API key -> JWT, SEC RUT/password -> IdToken, ChileMedido
refresh -> access token) share `bearer.BearerAuth`: requests in flight when the token dies are
all refused with 401 and repeated, and one renewal serves them all."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reconciler.providers.bearer import BearerAuth
from reconciler.providers.chilemedido import auth as medido_auth
from reconciler.providers.chilemedido import wire as medido_wire
from reconciler.providers.http import PlatformClient
from reconciler.providers.sec import wire as sec_wire
from reconciler.providers.sec.auth import SecSession
from reconciler.providers.siem.auth import ApiKeyJwt

IN_FLIGHT = 8

# platform -> (sign-in path, answer for token n, the auth strategy)
PLATFORMS: dict[str, tuple[str, Callable[[int], dict[str, Any]], Callable[[], BearerAuth]]] = {
    "siem": ("auth/token", lambda n: {"access_token": f"t{n}", "expires_in": 3600},
             lambda: ApiKeyJwt("k-123456")),
    "sec": (sec_wire.SIGN_IN, lambda n: {sec_wire.ID_TOKEN: f"t{n}"},
            lambda: SecSession("opc", "sec", "123456785", "pw-1234")),
    "chilemedido": (medido_wire.REFRESH_PATH, lambda n: {medido_wire.ACCESS_TOKEN: f"t{n}"},
                    lambda: medido_auth.RefreshTokenAuth("refresh-1234")),
}


class Platform:
    """Hands out t1, t2, ...; `/thing` refuses a dead token, once IN_FLIGHT requests hold it."""

    def __init__(self, sign_in: str, answer: Callable[[int], dict[str, Any]]) -> None:
        self.issued = 0
        self.dead: set[str] = set()
        self.waiting = 0
        self.all_in = asyncio.Event()

        async def token(request: Request) -> Response:
            self.issued += 1
            return JSONResponse(answer(self.issued))

        async def thing(request: Request) -> Response:
            presented = request.headers.get("authorization", "")
            if presented.removeprefix("Bearer ") in self.dead:
                self.waiting += 1
                if self.waiting == IN_FLIGHT:
                    self.all_in.set()
                await asyncio.wait_for(self.all_in.wait(), timeout=10)
                return JSONResponse({"message": "token expired"}, status_code=401)
            return JSONResponse({"ok": presented})

        self.app = Starlette(routes=[Route(f"/{sign_in}", token, methods=["POST"]),
                                     Route("/thing", thing, methods=["GET"])])


@pytest.mark.parametrize("name", sorted(PLATFORMS))
def test_requests_refused_together_share_one_renewal(name: str) -> None:
    sign_in, answer, make_auth = PLATFORMS[name]
    platform = Platform(sign_in, answer)
    auth = make_auth()
    client = PlatformClient(platform=name, base_url="http://platform.test", auth=auth, timeout=10, retries=0,
                            concurrency=IN_FLIGHT, transport=httpx.ASGITransport(app=platform.app))

    async def go() -> list[Any]:
        first = await client.request("GET", "thing")
        platform.dead.add("t1")          # the platform ends the session: every holder of t1 gets 401
        rest = await asyncio.gather(*(client.request("GET", "thing") for _ in range(IN_FLIGHT)))
        await client.aclose()
        return [first.body, *(r.body for r in rest)]

    bodies = asyncio.run(go())
    assert bodies == [{"ok": "Bearer t1"}] + [{"ok": "Bearer t2"}] * IN_FLIGHT
    assert platform.issued == 2 and client.counters.auth == 2
    assert auth.token == "t2"
