"""`make run` (devboss.devrun under devboss/supervise.py), started as a user starts it: a child that dies is
started again and the window says which and why; SIGKILL of `make run` itself leaves no process behind."""
import os
import re
import signal
import time

import pytest
import requests

from bench.crash import Stack, _alive, _children


def descendants(pid):
    out, todo = [], [pid]
    while todo:
        kids = _children(todo.pop())
        out += kids
        todo += kids
    return out


@pytest.mark.timeout(400)
def test_make_run_restarts_a_dead_child_and_dies_with_all_of_them_on_sigkill(tmp_path):
    stack = Stack(tmp_path / "stack", {})
    try:
        old = stack.pid("devboss")
        os.kill(old, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = re.search(rf"devboss \(pid {old}\) killed by SIGKILL.*starting it again", stack.log())
            child = stack.status()["children"]["devboss"]
            if line and child["pid"] not in (None, old):
                try:
                    if requests.get(stack.boss + "/ping/", timeout=2).ok:
                        break
                except requests.RequestException:
                    pass
            time.sleep(0.5)
        else:
            pytest.fail("devboss was not started again:\n" + stack.log()[-2000:])
        assert stack.proc.poll() is None  # make run stayed up
        assert requests.get(stack.portal + "/livez", timeout=10).ok

        everything = descendants(stack.proc.pid)
        assert len(everything) >= 6  # redis, devboss x2, portal, worker, beat (and their own children)
        stack.proc.send_signal(signal.SIGKILL)  # not Ctrl-C: no chance to clean up
        stack.proc.wait(10)
        deadline = time.monotonic() + 20
        while [p for p in everything if _alive(p)] and time.monotonic() < deadline:
            time.sleep(0.5)
        left = [p for p in everything if _alive(p)]
        assert left == [], [open(f"/proc/{p}/cmdline").read().replace("\0", " ")[:200] for p in left]
    finally:
        if stack.proc.poll() is None:
            stack.stop()
