"""A fake transport for bossdb.Session: answers from a table of routes, records what was asked."""
import json
import threading

import blosc
import numpy as np
import requests


class Answer:
    def __init__(self, status=200, body=None, content=None, headers=None):
        self.status_code = status
        self._body = body
        self._content = content
        if headers is not None:  # without them an answer's length is unknown, as a chunked one's
            self.headers = headers

    @property
    def content(self):
        if self._content is not None:
            return self._content
        return json.dumps(self._body).encode()

    def json(self):
        if self._body is None:
            return json.loads(self.content)
        return self._body


def blosc_answer(array):
    return Answer(content=blosc.compress(np.ascontiguousarray(array).tobytes(), typesize=array.dtype.itemsize))


class FakeBoss:
    """`routes` maps a path after /v1/ to an Answer, an exception to raise, or a list of them (one per
    request, the last repeated)."""

    def __init__(self, routes=None):
        self.routes = dict(routes or {})
        self.sent = []  # (route, headers, params, timeout)
        self.lock = threading.Lock()

    def __call__(self):  # the Session's transport factory: one "requests session" per thread
        return self

    def get(self, url, params=None, headers=None, timeout=None, stream=False):
        route = url.split("/v1/", 1)[1] if "/v1/" in url else url
        with self.lock:
            self.sent.append((route, dict(headers or {}), dict(params or {}), timeout))
            answer = self.routes.get(route, Answer(404, {"status": 404, "code": 4000, "message": "no route"}))
            if isinstance(answer, list):
                answer = answer.pop(0) if len(answer) > 1 else answer[0]
        if isinstance(answer, BaseException):
            raise answer
        return answer


TIMEOUT = requests.Timeout("read timed out")
