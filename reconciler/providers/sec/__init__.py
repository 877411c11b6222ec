"""SEC Chile, "Plataforma de Interoperabilidad" (electromovilidad): EVSEs, connectors and tariffs."""
