"""The digest of a plan's changes: what a reviewer approved, in a form a later plan can be compared with.

For each change (in plan order): its address, its action and the requests it sends (method, path,
account, repeat and body). Bodies are made comparable across runs and machines: `last_updated`
values (stamped again at send time) are dropped, and the configuration directory's absolute path
(different on every runner) is cut out of strings. Each change is hashed on its own (sha256 of its
canonical JSON: sorted keys, no spaces, UTF-8), and the plan's digest is the sha256 of the ordered
list of those. Nothing secret is hashed: plans hold no credentials, and no request header is part
of a digest.

The PR comment carries the digest and, when they fit, the per-change hashes (`render.markdown`);
the action compares them with the plan made at merge (`gitops`, `reconciler github check-reviewed`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

PREFIX = "sha256:"
_VOLATILE = frozenset({"last_updated"})


def _clean(value: Any, root: str) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _clean(v, root) for k, v in value.items() if k not in _VOLATILE}
    if isinstance(value, list | tuple):
        return [_clean(v, root) for v in value]
    if isinstance(value, str) and root and root in value:
        return value.replace(root + "/", "").replace(root, ".")
    return value


def _sha(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def change_entry(change: Mapping[str, Any], root: str = "") -> dict[str, Any]:
    """The part of one change (plan JSON form) that a review approves."""
    requests = [{"method": r.get("method"), "path": r.get("path"), "account": r.get("account"),
                 "repeat": r.get("repeat", 1), "body": r.get("body")} for r in change.get("requests") or []]
    return _clean({"address": change.get("address"), "action": change.get("action"), "requests": requests}, root)


def per_change(doc: Mapping[str, Any]) -> dict[str, str]:
    """address -> action:hash of that change (12 hex digits), in plan order."""
    root = str(doc.get("config_root") or "").rstrip("/")
    out: dict[str, str] = {}
    for ch in doc.get("changes") or []:
        entry = change_entry(ch, root)
        out[str(entry["address"])] = f"{entry['action']}:{_sha(entry)[:12]}"
    return out


def plan_digest(doc: Mapping[str, Any]) -> str:
    """`sha256:<hex>` over every change of the plan (plan JSON form)."""
    root = str(doc.get("config_root") or "").rstrip("/")
    return PREFIX + _sha([_sha(change_entry(ch, root)) for ch in doc.get("changes") or []])


def differences(reviewed: Mapping[str, str], now: Mapping[str, str]) -> dict[str, list[str]]:
    """Addresses added, removed and changed between two `per_change` maps."""
    return {"added": [a for a in now if a not in reviewed],
            "removed": [a for a in reviewed if a not in now],
            "changed": [a for a in now if a in reviewed and reviewed[a] != now[a]]}
