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


class WatchedRoom(bossdb.BodyRoom):
    """A BodyRoom that remembers the most bytes it ever held at once."""

    def __init__(self, nbytes, **options):
        super().__init__(nbytes, **options)
        self.most = 0

    def take(self, n):
        n = super().take(n)
        with self._changed:
            self.most = max(self.most, self.held)
        return n


def test_threads_sharing_a_room_of_one_body_hold_one_body_at_a_time_and_read_every_block(server):
    s = Session(f"http://127.0.0.1:{server.server_port}", Credential("Token", "t"))
    room = WatchedRoom(len(BODY))
    results = in_threads(4, 6, lambda: read_in_room(s, room))
    assert len(results) == 24 and all(np.array_equal(r, BLOCK) for r in results)
    assert room.most == len(BODY) and room.held == 0  # never two bodies at once, every byte given back


def test_a_body_larger_than_the_room_is_still_read_and_one_cut_short_gives_its_room_back(server):
    url = f"http://127.0.0.1:{server.server_port}"
    room = bossdb.BodyRoom(10)  # far less than one body: one is always let in
    box = ("c", "e", "ch", "uint16", 0, (0, 128), (0, 64), (0, 4))
    np.testing.assert_array_equal(bossdb.read_cutout(Session(url, Credential("Token", "t")), *box, room=room), BLOCK)
    Handler.short = 1
    session = Session(url, Credential("Token", "t"), retry=Retry(2, 0))
    np.testing.assert_array_equal(bossdb.read_cutout(session, *box, room=room), BLOCK)
    assert room.held == 0


def test_a_full_room_makes_the_next_body_wait_until_one_is_given_back():
    room = bossdb.BodyRoom(100)
    room.take(80)
    taken = threading.Event()
    t = threading.Thread(target=lambda: (room.take(50), taken.set()))
    t.start()
    assert not taken.wait(0.2)  # 80 + 50 > 100: waits
    room.give(80)
    assert taken.wait(5) and room.held == 50
    t.join(5)
    room.take(30)  # 50 + 30 fits at once
    assert room.held == 80


def test_a_body_of_unknown_length_takes_the_whole_room():
    from tests.bossdb.fake import FakeBoss, blosc_answer

    fake = FakeBoss({"cutout/c/e/ch/0/0:128/0:64/0:4/": blosc_answer(BLOCK)})  # no Content-Length
    room = WatchedRoom(1000)
    out = bossdb.read_cutout(Session("http://boss.test", Credential("Token", "t"), transport=fake), "c", "e", "ch",
                             "uint16", 0, (0, 128), (0, 64), (0, 4), room=room)
    np.testing.assert_array_equal(out, BLOCK)
    assert room.most == 1000 and room.held == 0


def test_large_bodies_are_read_into_one_buffer_the_room_keeps_and_the_connection_serves_the_next(server):
    """Bodies of `buffered` bytes or more go straight from the socket into a buffer the room keeps (here
    every body: buffered=1), so each block's answer is not new memory; the connection stays open."""
    s = Session(f"http://127.0.0.1:{server.server_port}", Credential("Token", "t"))
    room = bossdb.BodyRoom(len(BODY), buffered=1)
    out = np.empty_like(BLOCK)
    kept = set()
    for _ in range(5):
        out.fill(0)
        np.testing.assert_array_equal(read_in_room(s, room, into=lambda shape, dtype: out), BLOCK)
        assert room.held == 0 and len(room._spare) == 1
        kept.add(id(room._spare[0]))
    np.testing.assert_array_equal(read_in_room(s, room), BLOCK)  # no `into`: a new array, same buffer
    assert len(kept) == 1 and server.connections == 1


def test_threads_reading_into_kept_buffers_get_every_block_and_a_body_cut_short_is_retried(server):
    url = f"http://127.0.0.1:{server.server_port}"
    s = Session(url, Credential("Token", "t"), retry=Retry(2, 0))
    room = WatchedRoom(len(BODY), buffered=1)
    Handler.short = 2  # two of the answers are cut short: their tries read again into a buffer
    results = in_threads(3, 6, lambda: read_in_room(s, room))
    assert len(results) == 18 and all(np.array_equal(r, BLOCK) for r in results)
    assert room.most == len(BODY) and room.held == 0
    assert sum(len(b) for b in room._spare) <= len(BODY)  # no more kept than the room's own bytes


def read_in_room(session, room, into=None):
    return bossdb.read_cutout(session, "c", "e", "ch", "uint16", 0, (0, 128), (0, 64), (0, 4), into=into, room=room)


def in_threads(threads, each, call):
    """`call()` `each` times in each of `threads` threads at once; every result."""
    results = []

    def run():
        for _ in range(each):
            results.append(call())

    started = [threading.Thread(target=run) for _ in range(threads)]
    for t in started:
        t.start()
    for t in started:
        t.join(30)
    return results


class BufferWatchedRoom(bossdb.BodyRoom):
    """A BodyRoom that remembers the most bytes its buffers, lent out and kept, ever weighed together."""

    most_buffers = 0

    def buffer(self, n):
        view = super().buffer(n)
        with self._changed:
            self.most_buffers = max(self.most_buffers, self._kept() + self._lent)
        return view


def test_the_buffers_lent_out_and_kept_weigh_no_more_than_the_room(server):
    """Two bodies fit in this room at once: a third buffer kept besides the two lent out would take the
    answers' memory to one and a half rooms (a uint16 job held three 20 MB buffers in a room of 33.5 MB). A
    buffer's quarter more than its body comes out of the room too, unless bodies already lent fill it."""
    s = Session(f"http://127.0.0.1:{server.server_port}", Credential("Token", "t"))
    room = BufferWatchedRoom(2 * len(BODY) + len(BODY) // 10, buffered=1)
    results = in_threads(3, 8, lambda: read_in_room(s, room))
    assert len(results) == 24 and all(np.array_equal(r, BLOCK) for r in results)
    assert room.held == 0 and room._lent == 0
    assert 0 < room.most_buffers <= room.nbytes * 5 // 4
