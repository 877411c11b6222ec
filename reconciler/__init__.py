"""reconciler: declare EV charging stations, tariffs and meters in YAML; plan and apply them to the SIEM, SEC and ChileMedido platforms."""

__version__ = "0.1.0"
