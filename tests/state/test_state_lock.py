"""The state lock: contention message, release, stale takeover, force-unlock."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.core.diagnostics import DiagnosticError, Severity
from reconciler.state import LockError, LockInfo, StateStore, force_unlock


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def plant(store: StateStore, *, pid: int, who: str | None = None, lock_id: str = "11111111-2222") -> None:
    info = {"ID": lock_id, "Operation": "apply", "Who": who or f"alice@{socket.gethostname()}", "Pid": pid,
            "Created": "2024-05-01T12:00:00.000000Z", "Version": "0.1.0", "Path": str(store.path)}
    store.lock_path.write_text(json.dumps(info))


def test_lock_file_records_who_what_when(store: StateStore) -> None:
    with store.lock("apply") as lk:
        doc = json.loads(store.lock_path.read_text())
        assert set(doc) == {"ID", "Operation", "Who", "Pid", "Created", "Version", "Path"}
        assert doc["Operation"] == "apply" and doc["Pid"] == os.getpid()
        assert doc["Who"].endswith("@" + socket.gethostname()) and doc["Created"].endswith("Z")
        assert doc["Path"] == str(store.path) and doc["ID"] == lk.lock_id
        assert lk.warnings == []
    assert not store.lock_path.exists()


def test_second_lock_is_refused_with_who_id_and_command(store: StateStore) -> None:
    with store.lock("apply") as held, pytest.raises(LockError) as e, StateStore(store.path).lock("plan"):
        pass
    msg = str(e.value)
    lock_id = held.lock_id
    assert isinstance(e.value, DiagnosticError) and e.value.info is not None and e.value.info.id == lock_id
    assert f"reconciler force-unlock {lock_id}" in msg
    assert "apply by " in msg and socket.gethostname() in msg and "since 20" in msg
    assert f"lock ID {lock_id}" in msg


def test_lock_is_released_on_exception(store: StateStore) -> None:
    with pytest.raises(RuntimeError), store.lock("apply"):
        raise RuntimeError("apply failed")
    assert not store.lock_path.exists()
    with store.lock("apply"):
        pass


def test_release_never_removes_someone_elses_lock(store: StateStore) -> None:
    lk = store.lock("apply").acquire()
    force_unlock(store.path, lk.lock_id)
    plant(store, pid=os.getpid(), lock_id="theirs")
    lk.release()
    assert json.loads(store.lock_path.read_text())["ID"] == "theirs"


def test_stale_lock_of_a_dead_local_process_is_taken_over_with_a_warning(store: StateStore) -> None:
    pid = dead_pid()
    plant(store, pid=pid, lock_id="stale-id")
    with store.lock("plan") as lk:
        assert json.loads(store.lock_path.read_text())["ID"] == lk.lock_id != "stale-id"
        assert len(lk.warnings) == 1 and lk.warnings[0].severity is Severity.WARNING
        text = lk.warnings[0].render()
        assert "stale" in text and f"pid {pid}" in text and "stale-id" in text
    assert not store.lock_path.exists()
    assert [p for p in store.path.parent.iterdir() if ".stale-" in p.name] == []


def test_lock_of_a_live_process_is_not_stale(store: StateStore) -> None:
    plant(store, pid=os.getpid())
    with pytest.raises(LockError):
        store.lock("apply").acquire()


def test_lock_from_another_host_is_never_taken_over(store: StateStore) -> None:
    plant(store, pid=dead_pid(), who="bob@ci-runner-7")
    with pytest.raises(LockError) as e:
        store.lock("apply").acquire()
    assert "bob@ci-runner-7" in str(e.value) and "reconciler force-unlock 11111111-2222" in str(e.value)


def test_force_unlock_wrong_id_keeps_the_lock(store: StateStore) -> None:
    plant(store, pid=os.getpid(), lock_id="right")
    with pytest.raises(DiagnosticError) as e:
        force_unlock(store.path, "wrong")
    assert "wrong does not match" in str(e.value) and "right" in str(e.value)
    assert store.lock_path.exists()


def test_force_unlock_right_id_removes_it(store: StateStore) -> None:
    plant(store, pid=os.getpid(), lock_id="right")
    removed = force_unlock(store.path, "right")
    assert isinstance(removed, LockInfo) and removed.who.startswith("alice@")
    assert not store.lock_path.exists()
    with store.lock("apply"):
        pass


def test_force_unlock_without_a_lock_is_an_error(store: StateStore) -> None:
    with pytest.raises(DiagnosticError, match="is not locked"):
        force_unlock(store.path, "anything")


def test_unreadable_lock_file_is_a_clear_error(store: StateStore, tmp_path: Path) -> None:
    store.lock_path.write_text("")
    with pytest.raises(LockError) as e:
        store.lock("apply").__enter__()
    assert "unreadable" in str(e.value) and str(store.lock_path) in str(e.value)
