"""ChileMedido credentials: JWT expiry read without verifying, the token cache, rotation on refresh."""

from __future__ import annotations

import asyncio
import json
import stat
import time
from pathlib import Path

import httpx
import pytest

from reconciler.providers.chilemedido import auth
from reconciler.providers.http import PlatformClient
from reconciler.sandbox import chilemedido
from reconciler.sandbox.chilemedido import tokens
from reconciler.sandbox.datastore import JournaledStore
from reconciler.sandbox.faults import FaultController
from reconciler.sandbox.requestlog import RequestLog


def jwt(exp: int) -> str:
    return tokens.sign(b"k", {"exp": exp, "sub": "2"})


def test_expiry_is_read_without_the_key_and_garbage_has_none() -> None:
    assert auth.expiry(jwt(1234567890)) == 1234567890
    assert auth.expiry("not-a-jwt") is None and auth.expiry("a.b.c") is None
    # The guide's own example refresh token: issued 2020-03-11, valid two months.
    example = ("eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJqdGkiOiJkNzc2NzMxNS0wZDVmLTQ2ZGItYmJiZC02ZThmZDNmMmVkNGUiLCJpY"
               "XQiOjE1ODM5Mzc3MDUsImV4cCI6MTU4OTEyMTcwNSwiYXVkIjoiMSIsImlzcyI6IlByb3ZpZGVyIEF1dGggU2VydmVyIiwic3ViIjoi"
               "MiJ9.sig")
    assert auth.expiry(example) == 1589121705
    assert auth.newest(jwt(10), None, jwt(30), "junk") == jwt(30)


def test_cache_is_private_atomic_and_per_url(tmp_path: Path) -> None:
    cache = auth.TokenCache(tmp_path / "dir" / "medido.token", "https://in.chilemedido.cl/api/v1")
    assert cache.load() is None
    cache.save(jwt(99))
    assert stat.S_IMODE(cache.path.stat().st_mode) == 0o600
    assert cache.load() == jwt(99)
    assert auth.TokenCache(cache.path, "sandbox").load() is None      # written for another platform
    cache.path.chmod(0o640)
    with pytest.raises(auth.CacheError, match="can be read by other users"):
        cache.load()
    assert list((tmp_path / "dir").iterdir()) == [cache.path]            # no temp file left behind


def test_refresh_rotates_reuses_the_access_token_and_saves_the_newest(tmp_path: Path) -> None:
    store = JournaledStore(None)
    app = chilemedido.create_app(store, faults=FaultController(), log=RequestLog(),
                                 measurements=chilemedido.MeasurementLog(None))
    short = app.state.simulator.mint_refresh_token(2, ttl=3600)
    cache = auth.TokenCache(tmp_path / "t", "sandbox")
    strategy = auth.RefreshTokenAuth(short, cache=cache)

    async def go() -> None:
        client = PlatformClient(platform="medido", base_url="http://s/api/v1", auth=strategy,
                                transport=httpx.ASGITransport(app=app), concurrency=2, retry_delay=0)
        try:
            for _ in range(3):
                assert (await client.request("GET", "server-time")).status == 200
            assert client.counters.auth == 1                               # one refresh, access token reused
        finally:
            await client.aclose()

    asyncio.run(go())
    assert strategy.refresh_token != short
    assert auth.expiry(strategy.refresh_token) > time.time() + 59 * 86400
    assert json.loads(cache.path.read_text())["refresh_token"] == strategy.refresh_token
