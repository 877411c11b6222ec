"""How a provider reaches its platform: it asks a `Connector` for the `Endpoint` of each service.

A provider never picks a transport itself. The registry hands it a connector; the provider
describes what it wants to reach (`Service`: the platform, which of its APIs, the configured URL
and the credentials the configuration gives) and builds its `PlatformClient` on the answer: the
base URL, the transport (None: httpx's own, over the network) and the credentials to sign in with.

`Network` reaches the configured URL and nothing else. The CLI hands the registry a connector
that also serves `url: sandbox` from the in-process simulators (and fills in their demo
credentials where the configuration gives none), so the providers never import the simulators.
Tests hand a provider `Network(transport)` to put an ASGI app of their own behind its URL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import httpx

from reconciler.config import models
from reconciler.providers import errors

SANDBOX = "sandbox"   # the URL value that names the embedded simulators


@dataclass(frozen=True)
class Service:
    """One API of one platform, as the configuration describes it.

    `name` is the provider's own word for the API (`ocpi`, SEC's accounts `opc`/`pse`, ChileMedido's
    `input`/`output`); `credentials` are the configured values by field name, None where unset.
    """

    platform: models.Platform
    name: str
    url: str
    credentials: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Endpoint:
    """Where requests to one service go, and the credentials to sign in with there."""

    base_url: str
    transport: httpx.AsyncBaseTransport | None = None
    credentials: Mapping[str, str | None] = field(default_factory=dict)


class Connector(Protocol):
    def connect(self, service: Service) -> Endpoint:
        """The endpoint of `service`. Opens nothing on the network (clients connect on first use);
        raises `errors.NotSent` when the service cannot be reached at all."""
        ...


class Network:
    """The configured URL, over `transport` (None: httpx's own network transport)."""

    def __init__(self, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.transport = transport

    def connect(self, service: Service) -> Endpoint:
        if service.url == SANDBOX:
            raise errors.NotSent(
                f"platform '{service.platform.name}' uses url: sandbox, and this command has no sandbox to offer "
                "(the embedded simulators come with the reconciler command)", platform=service.platform.name)
        return Endpoint(service.url, self.transport, dict(service.credentials))
