"""Fixtures for the browse tests: the portal pointed at the session devboss, a fake BOSS for failures,
and devboss over HTTPS (what Neuroglancer's boss:// source needs) with an access log."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.cache import cache

from devboss import procs


@pytest.fixture
def boss(settings, devboss):
    """The portal reading the session devboss, with an empty cache."""
    settings.BOSS_URL = devboss.url
    settings.BOSS_PUBLIC_URL = devboss.url
    cache.clear()
    yield devboss
    cache.clear()


class FakeBoss(ThreadingHTTPServer):
    """Answers every request with `status` and `body` after `delay` seconds; counts requests."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _FakeHandler)
        self.status, self.body, self.delay, self.paths = 200, {}, 0.0, []

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"


class _FakeHandler(BaseHTTPRequestHandler):
    def do_GET(self):
        server = self.server
        server.paths.append(self.path)
        time.sleep(server.delay)
        payload = json.dumps(server.body).encode()
        try:
            self.send_response(server.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:  # the client gave up (timeout tests)
            pass

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_boss(settings):
    server = FakeBoss()
    # shutdown() waits for serve_forever to look at its flag, every poll_interval (0.5 s by default)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    settings.BOSS_URL = server.url
    cache.clear()
    yield server
    server.shutdown()
    server.server_close()
    cache.clear()


@pytest.fixture(scope="session")
def https_devboss(devboss, tmp_path_factory):
    """A second devboss process over HTTPS on the same database, logging every request it serves."""
    directory = tmp_path_factory.mktemp("devboss-https")
    cert, key = procs.ensure_certificate(directory)
    port = procs.free_port()
    access_log = directory / "access.log"
    env = {**devboss.env, "GUNICORN_CMD_ARGS": f"--access-logfile {access_log}"}
    with open(directory / "gunicorn.log", "ab") as log:
        proc = procs.start_gunicorn("devboss.wsgi:application", port, env, certfile=cert, keyfile=key, log=log)
    url = f"https://127.0.0.1:{port}"
    procs.wait_for_http(f"{url}/ping/", proc=proc)
    yield type("HttpsDevBoss", (), {"url": url, "access_log": access_log, "proc": proc,
                                    "ndviz_url": f"{url}/v/devboss/"})
    procs.stop(proc)
