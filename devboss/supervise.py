"""`make run`'s supervisor: it starts the stack's processes, restarts any that dies (with backoff, saying
which and why), and stops them all on Ctrl-C or SIGTERM. No child outlives it: each is asked to stop by
the kernel when the supervisor dies, even by SIGKILL (PR_SET_PDEATHSIG), and whatever a dead child leaves
in its process group (gunicorn's workers, Celery's pool) is killed before it is started again.

The state (pids, restarts) is in <var>/run/supervisor.json, for people and for the crash suite.
"""
import ctypes
import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from devboss import procs

PR_SET_PDEATHSIG = 1
BACKOFF_FIRST, BACKOFF_MAX, HEALTHY_SECONDS = 1.0, 30.0, 60.0


def die_with_parent(sig=signal.SIGTERM):
    """A preexec_fn: the child gets `sig` when the process that started it dies, however it dies (Linux)."""
    def setup():
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        except (OSError, AttributeError):
            pass  # not Linux: Ctrl-C and SIGTERM still stop everything
    return setup


def why(returncode):
    if returncode is None:
        return "running"
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exited with status {returncode}"


@dataclass
class Child:
    name: str
    start: object  # () -> Popen
    port: int = None  # a server: its port must be free before it starts again
    proc: subprocess.Popen = None
    restarts: int = 0
    started: float = 0.0
    backoff: float = BACKOFF_FIRST
    due: float = None  # when a dead child is started again
    history: list = field(default_factory=list)


class Supervisor:
    def __init__(self, var_dir, say):
        self.children = []
        self.say = say
        self.status_path = Path(var_dir) / "run" / "supervisor.json"
        self.status_path.parent.mkdir(parents=True, exist_ok=True)

    def add(self, name, start, port=None):
        child = Child(name, start, port)
        self._start(child)
        self.children.append(child)
        self._write_status()
        return child

    def _start(self, child):
        child.proc = child.start()
        child.started = time.monotonic()
        child.due = None

    def check(self):
        """One round: notice dead children, start those whose backoff is over. Returns True if it changed
        anything."""
        changed = False
        now = time.monotonic()
        for child in self.children:
            if child.due is None and child.proc.poll() is not None:
                ran = now - child.started
                if ran >= HEALTHY_SECONDS:
                    child.backoff = BACKOFF_FIRST
                reason = why(child.proc.returncode)
                _reap_group(child.proc)
                child.due = now + child.backoff
                child.history.append(reason)
                self.say(f"{child.name} (pid {child.proc.pid}) {reason} after {ran:.0f} s; "
                         f"starting it again in {child.backoff:.0f} s (restart {child.restarts + 1})")
                child.backoff = min(child.backoff * 2, BACKOFF_MAX)
                changed = True
            elif child.due is not None and now >= child.due:
                if child.port and not _wait_port_free(child.port, 0.5):
                    continue  # a dying process still holds it: next round
                try:
                    self._start(child)
                except Exception as exc:  # it failed to come up: try again after a longer wait
                    self.say(f"{child.name} did not start: {exc}; trying again in {child.backoff:.0f} s")
                    child.due = time.monotonic() + child.backoff
                    child.backoff = min(child.backoff * 2, BACKOFF_MAX)
                    continue
                child.restarts += 1
                self.say(f"{child.name} is back (pid {child.proc.pid})")
                changed = True
        if changed:
            self._write_status()
        return changed

    def stop_all(self):
        for child in reversed(self.children):
            if child.proc is not None:
                procs.stop(child.proc)
                _reap_group(child.proc)
        self.children = []
        self._write_status()

    def _write_status(self):
        state = {
            "supervisor": os.getpid(),
            "children": {c.name: {"pid": c.proc.pid if c.proc and c.proc.poll() is None else None,
                                  "restarts": c.restarts, "exits": c.history} for c in self.children},
        }
        tmp = self.status_path.with_suffix(".part")
        tmp.write_text(json.dumps(state, indent=1))
        tmp.replace(self.status_path)


def _reap_group(proc):
    """Kill what is left of a dead child's process group (the children started it in a session of its own)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        pass


def _wait_port_free(port, timeout):
    deadline = time.monotonic() + timeout
    while True:
        if procs.port_is_free(port):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
