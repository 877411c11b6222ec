"""Shared building blocks with no dependencies inside the project: diagnostics, addresses, redaction."""
