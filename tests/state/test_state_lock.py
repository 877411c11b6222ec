"""The local state lock: an OS lock held for the run, the info file a refused run prints, waiting
with a timeout, leftovers of killed runs, force-unlock, and races between real processes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from reconciler.core.diagnostics import DiagnosticError, Severity
from reconciler.state import LockError, LockInfo, StateStore, force_unlock
from reconciler.state.lock import current_lock, os_lock_path_for

HOLDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from reconciler.state import StateStore
    store = StateStore(Path(sys.argv[1]))
    with store.lock(sys.argv[2]) as lk:
        print(lk.lock_id, flush=True)
        hold = float(sys.argv[3])
        if hold < 0:
            sys.stdin.readline()
        else:
            time.sleep(hold)
""")


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def plant(store: StateStore, *, pid: int, who: str | None = None, lock_id: str = "11111111-2222") -> None:
    info = {"ID": lock_id, "Operation": "apply", "Who": who or f"alice@{socket.gethostname()}", "Pid": pid,
            "Created": "2024-05-01T12:00:00.000000Z", "Version": "0.1.0", "Path": str(store.path)}
    store.lock_path.write_text(json.dumps(info))


def hold_in_subprocess(store: StateStore, operation: str = "apply", seconds: float = -1) -> tuple[
        subprocess.Popen[str], str]:
    """Another process takes the lock (until its stdin closes, or for `seconds`); returns it and the lock ID."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(store.path), operation, str(seconds)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    lock_id = proc.stdout.readline().strip()
    assert lock_id, "the holder did not take the lock"
    return proc, lock_id


def test_lock_file_records_who_what_when(store: StateStore) -> None:
    with store.lock("apply") as lk:
        doc = json.loads(store.lock_path.read_text())
        assert set(doc) == {"ID", "Operation", "Who", "Pid", "Created", "Version", "Path"}
        assert doc["Operation"] == "apply" and doc["Pid"] == os.getpid()
        assert doc["Who"].endswith("@" + socket.gethostname()) and doc["Created"].endswith("Z")
        assert doc["Path"] == str(store.path) and doc["ID"] == lk.lock_id
        assert lk.warnings == []
        assert current_lock(store.path) == LockInfo.from_json(doc)
    assert not store.lock_path.exists()
    assert os_lock_path_for(store.path).exists()  # never deleted: a new inode would break the exclusion
    assert current_lock(store.path) is None


def test_second_lock_is_refused_with_who_id_and_command(store: StateStore) -> None:
    with store.lock("apply") as held, pytest.raises(LockError) as e, \
            StateStore(store.path, unlock_args=" examples/colombia").lock("plan"):
        pass
    msg = str(e.value)
    lock_id = held.lock_id
    assert isinstance(e.value, DiagnosticError) and e.value.info is not None and e.value.info.id == lock_id
    assert f"reconciler force-unlock {lock_id} examples/colombia" in msg
    assert "apply by " in msg and socket.gethostname() in msg and "since 20" in msg
    assert f"lock ID {lock_id}" in msg and "--lock-timeout" in msg


def test_lock_is_released_on_exception(store: StateStore) -> None:
    with pytest.raises(RuntimeError), store.lock("apply"):
        raise RuntimeError("apply failed")
    assert not store.lock_path.exists()
    with store.lock("apply"):
        pass


def test_release_never_removes_someone_elses_info(store: StateStore) -> None:
    lk = store.lock("apply").acquire()
    plant(store, pid=os.getpid(), lock_id="theirs")
    lk.release()
    assert json.loads(store.lock_path.read_text())["ID"] == "theirs"


def test_info_left_by_a_killed_run_is_replaced_with_a_warning(store: StateStore) -> None:
    pid = dead_pid()
    plant(store, pid=pid, lock_id="left-id")
    with store.lock("plan") as lk:
        assert json.loads(store.lock_path.read_text())["ID"] == lk.lock_id != "left-id"
        assert len(lk.warnings) == 1 and lk.warnings[0].severity is Severity.WARNING
        text = lk.warnings[0].render()
        assert "interrupted" in text and f"pid {pid}" in text and "left-id" in text
    assert not store.lock_path.exists()


def test_the_os_lock_decides_not_the_info_file(store: StateStore) -> None:
    # An info file from another host whose process is gone (the OS lock is free) does not block.
    plant(store, pid=4242, who="bob@ci-runner-7")
    with store.lock("apply") as lk:
        assert "bob@ci-runner-7" in lk.warnings[0].render()
    # An unreadable info file with a free OS lock is a leftover too.
    store.lock_path.write_text("")
    with store.lock("apply") as lk:
        assert lk.warnings == []


def test_a_lock_held_by_another_process_is_refused_until_it_ends(store: StateStore) -> None:
    proc, lock_id = hold_in_subprocess(store, "apply")
    try:
        with pytest.raises(LockError) as e:
            store.lock("plan").acquire()
        assert e.value.info is not None and e.value.info.id == lock_id and e.value.info.pid == proc.pid
        assert current_lock(store.path) is not None
    finally:
        proc.kill()  # kill -9: the kernel releases the OS lock; the info file stays behind
        proc.wait()
    assert store.lock_path.exists()
    with store.lock("plan") as lk:
        assert lock_id in lk.warnings[0].render()


def test_lock_timeout_waits_for_the_holder(store: StateStore) -> None:
    proc, _ = hold_in_subprocess(store, "apply", seconds=0.6)
    try:
        start = time.monotonic()
        with store.lock("apply", timeout=20) as lk:
            waited = time.monotonic() - start
        assert 0.2 < lk.waited <= waited < 20
    finally:
        proc.wait()


def test_lock_timeout_gives_up_and_says_how_long_it_waited(store: StateStore) -> None:
    proc, lock_id = hold_in_subprocess(store, "apply")
    try:
        start = time.monotonic()
        with pytest.raises(LockError) as e:
            store.lock("apply", timeout=0.5).acquire()
        assert time.monotonic() - start >= 0.5
        assert "(waited 0.5s)" in str(e.value) and lock_id in str(e.value)
    finally:
        proc.communicate("")


def test_force_unlock_wrong_id_keeps_the_lock(store: StateStore) -> None:
    plant(store, pid=os.getpid(), lock_id="right")
    with pytest.raises(DiagnosticError) as e:
        force_unlock(store.path, "wrong")
    assert "wrong does not match" in str(e.value) and "right" in str(e.value)
    assert store.lock_path.exists()


def test_force_unlock_right_id_removes_a_leftover(store: StateStore) -> None:
    plant(store, pid=dead_pid(), lock_id="right")
    removed = force_unlock(store.path, "right")
    assert isinstance(removed, LockInfo) and removed.who.startswith("alice@")
    assert not store.lock_path.exists()
    with store.lock("apply") as lk:
        assert lk.warnings == []


def test_force_unlock_refuses_a_lock_whose_process_runs(store: StateStore) -> None:
    proc, lock_id = hold_in_subprocess(store, "apply")
    try:
        with pytest.raises(DiagnosticError) as e:
            force_unlock(store.path, lock_id)
        assert "held by a running process" in str(e.value) and f"kill {proc.pid}" in str(e.value)
        assert json.loads(store.lock_path.read_text())["ID"] == lock_id
    finally:
        proc.communicate("")


def test_force_unlock_without_a_lock_is_an_error(store: StateStore) -> None:
    with pytest.raises(DiagnosticError, match="is not locked"):
        force_unlock(store.path, "anything")


RACER = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from reconciler.state import LockError, StateStore
    store, log, rounds = StateStore(Path(sys.argv[1])), sys.argv[2], int(sys.argv[3])
    got = 0
    for _ in range(rounds):
        try:
            with store.lock("apply", timeout=30):
                fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
                os.write(fd, f"in {os.getpid()}\\n".encode())
                time.sleep(0.002)
                os.write(fd, f"out {os.getpid()}\\n".encode())
                os.close(fd)
                got += 1
        except LockError:
            pass
    print(got)
""")


@pytest.mark.parametrize("leftover", [False, True])
def test_racing_processes_hold_the_lock_one_at_a_time(store: StateStore, tmp_path: Path, leftover: bool) -> None:
    # Formerly three processes over a stale lock could all "take it over"; now the kernel decides.
    if leftover:
        plant(store, pid=dead_pid(), lock_id="stale")
    log = tmp_path / "holders.log"
    procs = [subprocess.Popen([sys.executable, "-c", RACER, str(store.path), str(log), "15"],
                              stdout=subprocess.PIPE, text=True) for _ in range(4)]
    counts = [int(p.communicate(timeout=120)[0]) for p in procs]
    assert counts == [15, 15, 15, 15]  # with a timeout, everyone gets the lock in turn
    lines = log.read_text().splitlines()
    assert len(lines) == 2 * 60
    for enter, leave in zip(lines[::2], lines[1::2], strict=True):
        # Exactly one holder at a time: every "in" is followed by the same process's "out".
        assert enter.startswith("in ") and leave == "out " + enter[3:]
    assert not store.lock_path.exists()
