"""The platform simulators (ASGI apps), their fault injection, request log and persistent data.

Modules: `siem` (the UPME SIEM OCPI 2.2.1 receiver app), `receiver` (OCPI object rules),
`ocpi_schema` (validation), `auth` (API key -> JWT, OCPI tokens), `envelope` (OCPI responses and
error codes), `faults`, `requestlog`, `datastore`, `serve` (`reconciler sandbox serve`) and
`embedded` (`url: sandbox`). The sandbox imports nothing from the engine, providers or CLI.
"""
