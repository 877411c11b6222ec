"""The UPME SIEM (Colombia) and any other OCPI 2.2.1 receiver: Locations, EVSEs, Connectors, Tariffs."""
