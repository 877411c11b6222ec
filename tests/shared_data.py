"""Third-party test data kept in tests/data (see each folder's SOURCE.txt for origin and licence):
the official OCPI 2.2.1 example payloads and externally written tariff-calculation cases.
`RECONCILER_SHARED=DIR` points the tests at another copy (DIR/<name>)."""

from __future__ import annotations

import os
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


def shared(name: str) -> Path:
    env = os.environ.get("RECONCILER_SHARED")
    return (Path(env) if env else DATA) / name
