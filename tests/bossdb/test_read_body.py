"""bossdb's body reading over real HTTP (a tiny keep-alive server in a thread): a whole body is read in one
go and its connection serves the next request; a body cut short is an unreadable answer, retried."""
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import blosc
import numpy as np
import pytest

import bossdb
from bossdb import Credential, Retry, Session
from bossdb.errors import BossUnavailable

BLOCK = np.arange(4 * 64 * 128, dtype=np.uint16).reshape(4, 64, 128)
BODY = blosc.compress(BLOCK.tobytes(), typesize=2)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    short = 0  # answers still to cut short

    def setup(self):
        super().setup()
        with self.server.lock:
            self.server.connections += 1

    def do_GET(self):  # noqa: N802 - http.server's name
        cut = Handler.short > 0
        Handler.short -= cut
        self.send_response(200)
        self.send_header("Content-Type", "application/blosc")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY[: len(BODY) // 2] if cut else BODY)
        if cut:
            self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.lock, httpd.connections, httpd.daemon_threads = threading.Lock(), 0, True
    Handler.short = 0
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def read(session, into=None):
    return bossdb.read_cutout(session, "c", "e", "ch", "uint16", 0, (0, 128), (0, 64), (0, 4), into=into)


def test_blocks_are_read_whole_and_one_connection_serves_them_all(server):
    s = Session(f"http://127.0.0.1:{server.server_port}", Credential("Token", "t"))
    out = np.empty_like(BLOCK)
    for _ in range(5):
        np.testing.assert_array_equal(read(s, into=lambda shape, dtype: out), BLOCK)
    np.testing.assert_array_equal(read(s), BLOCK)
    assert server.connections == 1


def test_a_body_cut_short_is_retried_then_reported(server):
    url = f"http://127.0.0.1:{server.server_port}"
    Handler.short = 1
    np.testing.assert_array_equal(read(Session(url, Credential("Token", "t"), retry=Retry(2, 0))), BLOCK)
    Handler.short = 10
    with pytest.raises(BossUnavailable) as caught:
        read(Session(url, Credential("Token", "t"), retry=Retry(1, 0)))
    assert "cannot reach BOSS" in caught.value.message and "the cutout" in caught.value.message
