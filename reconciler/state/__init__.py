"""State: the model of what was applied, its versioned file format, and the store that writes it
atomically with a journal, a backup and a lock. Used by the engine, the providers and the CLI."""

from reconciler.state.fileformat import UPGRADERS, dumps, loads
from reconciler.state.journal import Journal, apply_entries, read_journal
from reconciler.state.lock import LockError, LockHandle, LockInfo, force_unlock
from reconciler.state.model import FORMAT_VERSION, PendingIntent, ResourceState, State, Watermark
from reconciler.state.store import DEFAULT_STATE_NAME, StateStore

__all__ = [
    "DEFAULT_STATE_NAME", "FORMAT_VERSION", "UPGRADERS", "Journal", "LockError", "LockHandle", "LockInfo",
    "PendingIntent", "ResourceState", "State", "StateStore", "Watermark", "apply_entries", "dumps",
    "force_unlock", "loads", "read_journal",
]
