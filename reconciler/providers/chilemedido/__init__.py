"""The ChileMedido provider (platform type `chilemedido`): meters checked, measurements uploaded once.

`provider.MedidoProvider` is what the registry builds; the rest are its parts: `wire` (every wire
name), `auth` (refresh-token flow, token cache), `refresh` and `planning` (plan), `source`, `scan`
and `batching` (measurement files), `upload` (apply), `discovery` (the output API's listing).
"""
