"""The ChileMedido simulator: input API (meters upload measurements) and output API, one data set.

`app.create_app` builds the ASGI app; `data` holds the registry and the measurement log;
`tokens` the JWTs; `handlers` what each endpoint answers. Mounted at `/chilemedido` by
`reconciler sandbox serve`, and opened in process by `embedded.medido_app_for` for `url: sandbox`.
"""

from __future__ import annotations

from reconciler.sandbox.chilemedido.app import INPUT_PREFIX, OUTPUT_PREFIX, create_app
from reconciler.sandbox.chilemedido.data import DEMO_CONSUMER_TOKEN, DEMO_PROVIDER, MeasurementLog

__all__ = ["DEMO_CONSUMER_TOKEN", "DEMO_PROVIDER", "INPUT_PREFIX", "OUTPUT_PREFIX", "MeasurementLog", "create_app"]
