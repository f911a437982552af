"""A caller's connection to one BOSS: its credential, the auth header, timeouts, and one retry policy.

    session = Session("https://api.bossdb.io", Credential("Token", token))
    demo = bossdb.get_collection(session, "demo")   # each endpoint function of bossdb/api.py

Each thread gets its own `requests.Session` (they are not promised thread-safe), so one `Session` may be
shared by the threads of a cutout. Two hooks let the caller shape every request:
- `renew(used)` returns a fresh Credential in place of `used`: called before a token with a known expiry
  runs out (within `renew_margin` seconds), and once after BOSS rejected the current one (a 401, or the
  500 the real BOSS answers a binary cutout with when the token is bad, told from a real server error by
  one JSON call); the request is then sent again with it. A web job renews the owner's OIDC token (and
  raises LoginRequired when none is left); the command line has none.
- `slot()` returns a context manager held around each request: a web job takes a slot of the cap on
  requests in flight to BOSS from every worker together.
A request may also bring a `BodyRoom` (`get(..., room=)`): its body is read only once the bodies held
(read, not yet decoded) leave room for it, so that a cutout's memory is bounded whatever BOSS's answers weigh.

Retries (`Retry`): BossUnavailable and BossTimeout (5xx, connection errors, timeouts, a body cut short)
are sent again with exponential backoff; every other error (401/403, 404, 400, 429 throttling) is final.
"""
import base64
import contextlib
import http.client
import json
import mmap
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import quote

import requests
import urllib3

from bossdb.errors import BossForbidden, BossTimeout, BossUnavailable, error_for_response

API_VERSION = "v1"


@dataclass(frozen=True)
class Credential:
    scheme: str  # "Bearer" (an OIDC access token) or "Token" (a BOSS API token, or "public")
    value: str
    expires: float = field(default=None, compare=False)  # Unix time the token expires at, where known

    def expiring(self, margin, now=None):
        """True when the token expires within `margin` seconds (never for one whose expiry is unknown)."""
        return self.expires is not None and (now if now is not None else time.time()) >= self.expires - margin

    def __repr__(self):  # never print the secret
        return f"Credential({self.scheme}, ***)"

    __str__ = __repr__

    @property
    def header(self):
        return f"{self.scheme} {self.value}"


@dataclass(frozen=True)
class Retry:
    """`retries` more tries after the first, waiting backoff, 2×backoff, 4×backoff... in between."""

    retries: int = 0
    backoff: float = 0.5

    def wait(self, attempt):
        time.sleep(self.backoff * 2**attempt)


def jwt_expiry(token):
    """The `exp` claim of a JWT access token (Keycloak's are JWTs), unverified: only to renew in time. None
    for an opaque token."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"]) if isinstance(claims, dict) and "exp" in claims else None
    except (IndexError, ValueError, TypeError):
        return None


def path(*parts):
    """URL path segments, each quoted ('a b' -> 'a%20b'); ':' stays, as in cutout ranges."""
    return "/".join(quote(str(p), safe=":") for p in parts)


class Session:
    def __init__(self, url, credential, *, connect_timeout=5.0, read_timeout=60.0, retry=Retry(),
                 renew=None, renew_margin=30.0, slot=None, describe=True, transport=requests.Session):
        self.url = url.rstrip("/")
        self.credential = credential
        self.timeout = (connect_timeout, read_timeout)
        self.retry = retry
        self.renew = renew
        self.renew_margin = renew_margin  # renew a token this many seconds before it expires
        self.slot = slot or contextlib.nullcontext
        self.describe = describe  # False: HTTP errors keep BOSS's own message, not one naming the resource
        self.transport = transport  # a factory of requests.Session-like objects (tests pass a fake)
        self._local = threading.local()
        self._renew_lock = threading.Lock()

    def __repr__(self):
        return f"Session({self.url}, {self.credential!r})"

    def _http(self):
        http = getattr(self._local, "http", None)
        if http is None:
            http = self._local.http = self.transport()
        return http

    def api_url(self, route):
        return f"{self.url}/{API_VERSION}/{route}"

    def _send(self, url, params, accept, what, describe, room=None):
        """The response, its body read, and the bytes it holds of `room` (the caller gives them back)."""
        headers = {"Authorization": self.credential.header}
        if accept:
            headers["Accept"] = accept
        held = 0
        buffer = None
        try:
            with self.slot():
                response = self._http().get(url, params=params, headers=headers, timeout=self.timeout, stream=True)
                if 200 <= response.status_code < 300:
                    if room is not None:  # a body of unknown length (chunked) counts as a full room
                        length = content_length(response)
                        held = room.take(length or room.nbytes)
                        buffer = room.buffer(length)
                    read_body(response, into=buffer)  # the whole body, inside the slot
        except BaseException as exc:
            if held:
                room.give(held, buffer)
            if isinstance(exc, requests.Timeout):
                raise BossTimeout(f"BOSS did not answer in time while reading {what}." if what
                                  else "BOSS did not answer in time") from exc
            if isinstance(exc, requests.RequestException):
                # connection refused or reset, a response cut short (content shorter than its length), ...
                raise BossUnavailable(f"cannot reach BOSS ({type(exc).__name__})"
                                      + (f" while reading {what}" if what else "")) from exc
            raise
        if not 200 <= response.status_code < 300:
            raise error_for_response(response, what if describe and self.describe else None)
        return response, (held, buffer)

    def _renewed(self, used):
        """A fresh credential in place of `used` (once per credential, whichever thread asks first):
        `renew(used)` gives it, or raises (LoginRequired) when there is none."""
        with self._renew_lock:
            if self.credential == used:
                self.credential = self.renew(used)
        return self.credential

    def get(self, route, *, params=None, accept=None, what=None, decode=None, describe=True, room=None):
        """GET {url}/v1/{route}; `decode(response)` turns the body into the result and raises ValueError
        when it can't (an unreadable answer, retried like a 5xx). `what` names the resource in messages; with
        describe=False an HTTP error keeps BOSS's own message ("Object 7 not found"). The body holds its
        bytes of `room` (a BodyRoom) from its reading to the end of its decoding. Raises only bossdb.errors."""
        url = self.api_url(route)
        renewed = False
        attempt = 0
        while True:
            used = self.credential
            if self.renew is not None and used.expiring(self.renew_margin):
                used = self._renewed(used)  # before it expires, not after BOSS refused it
            try:
                response, (held, buffer) = self._send(url, params, accept, what, describe, room)
                try:
                    if decode is None and buffer is not None:
                        response._content = bytes(response._content)  # the caller keeps it: not the room's buffer
                    return decode(response) if decode else response
                except ValueError as exc:
                    raise BossUnavailable(f"BOSS sent something unreadable for {what or 'the request'} "
                                          f"({exc})") from exc
                finally:
                    if held:
                        if decode is not None:
                            response._content = None  # the body goes now, before its room is given back
                        room.give(held, buffer)
            except BossForbidden as exc:
                if exc.boss_status != 401 or self.renew is None or renewed:
                    raise
                renewed = True
                self._renewed(used)
            except BossUnavailable as exc:
                if self._maybe_rejected(exc, accept, used) and not renewed:
                    # The real BOSS answers a rejected or expired token on a binary cutout with a 500 (its
                    # blosc renderer runs before authentication and fails on the 401): renew once, try again.
                    renewed = True
                    self._renewed(used)
                    continue
                if attempt >= self.retry.retries:
                    raise
                self.retry.wait(attempt)
                attempt += 1

    def _maybe_rejected(self, exc, accept, used):
        """Whether a 500 on a binary route may be BOSS refusing `used`: then one cheap JSON call (which BOSS
        answers 401 properly) tells a dead token from a real server error."""
        binary = accept is not None and "json" not in accept
        if self.renew is None or not binary or exc.boss_status != 500:
            return False
        if used.expires is not None and not used.expiring(self.renew_margin):
            return False  # a token good for a while yet: a real server error
        try:
            with self.slot():
                probe = self._http().get(self.api_url("collection/"), headers={"Authorization": used.header},
                                         timeout=self.timeout)
        except requests.RequestException:
            return False
        return probe.status_code == 401


def content_length(response):
    """The body's announced length in bytes, 0 when unknown."""
    length = getattr(response, "headers", {}).get("Content-Length", "")
    return int(length) if length.isdigit() else 0


class BodyRoom:
    """Room, in bytes, for the bodies a cutout's threads hold at once, read and not yet decoded.

    A thread whose answer has come (its headers read) takes its body's length before reading the rest;
    while the bodies held leave no room for it, it waits, its body left in the socket. One body is always
    let in, however large, so that a body larger than the room waits only for the others; a body of unknown
    length (chunked) takes the whole room. Requests in flight are not limited, only the bodies held: BOSS
    keeps working on its answers meanwhile. Real EM hardly packs, so BOSS's answers weigh about as much as
    the blocks: without a room three threads held three such bodies besides the block buffers (a web job's
    worker peaked at 321 MB).

    A body of `buffered` bytes or more is read into a buffer the room keeps (`buffer()`, back with give()),
    not into a new bytes object: glibc maps so large an object afresh (cutouts/pipeline/memory.py) and the
    kernel faults its pages in as the body arrives, which here cost 0.8-0.9 CPU s per GB of answers against
    0.2-0.3 into a kept buffer (32 MB bodies over loopback). The buffers, lent out and kept, weigh no more than
    the room's own bytes, and a quarter more when the bodies lent out fill it (or one buffer, when a body alone
    is larger): kept ones go before a new one is made. Counting only those kept, as before, let three 20 MB
    buffers of a uint16 job's answers live at once in a room of 33.5 MB."""

    def __init__(self, nbytes, buffered=2 * 1024 * 1024):
        self.nbytes = nbytes
        self.buffered = buffered
        self.held = 0
        self.largest = 0  # the largest body taken so far (a body of unknown length counts as the whole room)
        self._spare = []  # buffers of bodies decoded, for the next ones
        self._lent = 0  # bytes of the buffers bodies are being read into or decoded from
        self._changed = threading.Condition()

    def take(self, n):
        """Wait until `n` bytes fit, take them; returns `n`."""
        with self._changed:
            while self.held and self.held + n > self.nbytes:
                self._changed.wait()
            self.held += n
            self.largest = max(self.largest, n)
        return n

    def give(self, n, buffer=None):
        """Give back `n` bytes, and the buffer() the body was read into, once the body is decoded."""
        with self._changed:
            self.held -= n
            if buffer is not None:
                whole = buffer.obj
                buffer.release()
                self._lent -= len(whole)
                if self._kept() + self._lent + len(whole) <= max(self.nbytes, len(whole)):
                    self._spare.append(whole)
            self._changed.notify_all()

    def buffer(self, n):
        """A writable memoryview of `n` bytes to read a body of `n` bytes into (a kept buffer, or a new one),
        or None for a body under `buffered` bytes or of unknown length (0)."""
        if not n or n < self.buffered:
            return None
        with self._changed:
            for i, b in enumerate(self._spare):
                if len(b) >= n:
                    whole = self._spare.pop(i)
                    self._lent += len(whole)
                    return memoryview(whole)[:n]
            # Answers vary with the data: a quarter more than this body, no less than the largest so far, so
            # that a body a little larger next needs no new buffer (whose pages the kernel maps and faults in
            # afresh), as far as the room's bytes allow. Only the pages a body is read into take memory.
            size = max(n, min(max(self.largest, n + n // 4), self.nbytes - self._lent))
            while self._spare and self._kept() + self._lent + size > self.nbytes:
                self._spare.pop(0)  # too small for this body: it makes way for one that fits
            self._lent += size
        return memoryview(mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE))[:n]  # private: cheaper to fault in

    def _kept(self):
        return sum(len(b) for b in self._spare)

    def grow(self, nbytes):
        """At least `nbytes` of room from now on."""
        with self._changed:
            if nbytes > self.nbytes:
                self.nbytes = nbytes
                self._changed.notify_all()


def read_body(response, into=None):
    """Read a streamed response's whole body, then give its connection back for the next request.

    A body of known length, not content-encoded, is read in one read: requests' own reading goes in
    10 KB pieces joined at the end, which costs ~3× the CPU for a cutout block (bench.cutout_bench, ~0.2
    CPU s per GB of blocks), CPU taken from the fetch itself. Anything else is left to requests. A body
    cut short raises requests.ConnectionError (a timeout requests.Timeout), as requests' own reading does.

    `into`, a writable memoryview of the body's length (BodyRoom.buffer), receives the body straight from
    the connection's socket (http.client's readinto, under urllib3), and the body is that memoryview.
    """
    raw = getattr(response, "raw", None)
    if raw is None or getattr(response, "_content", False) is not False:  # not streamed, or read already
        return response.content
    n = content_length(response)
    if not n or response.headers.get("Content-Encoding", "identity").lower() != "identity":
        return response.content
    fp = getattr(raw, "_fp", None)  # http.client's response: it counts the length down and ends at it
    direct = into is not None and len(into) == n and callable(getattr(fp, "readinto", None))
    try:
        body = _read_into(fp, into) if direct else raw.read(n, decode_content=False)
    except (urllib3.exceptions.ReadTimeoutError, TimeoutError) as exc:
        response.close()  # a connection left mid-body can't serve another request
        raise requests.Timeout(str(exc)) from exc
    except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError) as exc:
        response.close()
        raise requests.ConnectionError(str(exc)) from exc
    if len(body) != n:
        response.close()
        raise requests.ConnectionError(f"a body of {len(body)} bytes, {n} announced")
    # What requests itself keeps once it has read a body: .content, .json() and .text work as usual, and
    # close() gives the (fully read) connection back to the pool instead of closing it.
    response._content, response._content_consumed = body, True
    response.close()
    return body


def _read_into(fp, view):
    """Fill `view` from http.client's response `fp`; the part filled (shorter when the body was cut short)."""
    got = 0
    while got < len(view):
        n = fp.readinto(view[got:])
        if not n:
            break
        got += n
    return view[:got]
