"""The errors a BOSS call raises, and the one table that maps BOSS's HTTP statuses onto them.

Every message is safe to show to a user: it never holds a token. `boss_status` is BOSS's HTTP status (None
when BOSS never answered), `code` BOSS's own error code from its `{"status", "code", "message"}` body.
"""


class BossError(Exception):
    """Base class. `status` is the HTTP status a page or API answer should carry for it."""

    status = 502

    def __init__(self, message="", boss_status=None, code=None):
        super().__init__(message)
        self.message = message
        self.boss_status = boss_status
        self.code = code


class BossUnavailable(BossError):
    """BOSS is down, answered 5xx, or sent something we could not read: worth another try."""

    status = 502


class BossTimeout(BossUnavailable):
    status = 504


class BossForbidden(BossError):
    """401/403: the caller may not see this (or the token was rejected: boss_status 401)."""

    status = 403


class BossNotFound(BossError):
    status = 404


class BossBadRequest(BossError):
    """BOSS refused the request's arguments (400, 406, 409, 413)."""

    status = 400


class BossThrottled(BossError):
    """429: the caller's byte quota is used up. Not transient: BOSS says when ("tomorrow"), never retried."""

    status = 429


class LoginRequired(BossError):
    """No usable credential: anonymous without a public token, or a token that can't be renewed."""

    status = 401


# The one table: BOSS's HTTP status -> our error class. Anything else (5xx, odd codes) is BossUnavailable.
STATUS_ERRORS = {
    400: BossBadRequest,
    401: BossForbidden,
    403: BossForbidden,
    404: BossNotFound,
    406: BossBadRequest,
    409: BossBadRequest,
    413: BossBadRequest,
    429: BossThrottled,
    504: BossTimeout,
}


def error_class(status):
    return STATUS_ERRORS.get(status, BossUnavailable)


def boss_body(response):
    """(message, code) from BOSS's JSON error body ({"status", "code", "message"} or DRF's {"detail"})."""
    try:
        body = response.json()
    except ValueError:
        return f"BOSS answered HTTP {response.status_code}", None
    if isinstance(body, dict):
        message = body.get("message") or body.get("detail")
        if message:
            return str(message)[:500], body.get("code")
    return f"BOSS answered HTTP {response.status_code}", None


def error_for_response(response, what=None):
    """The error for a non-2xx `response`. With `what` (a resource named for the user: "collection demo"),
    the message names it; without, it is BOSS's own message (cutouts, objects: "Object 7 not found")."""
    status = response.status_code
    cls = error_class(status)
    message, code = boss_body(response)
    if what is not None and cls is not BossThrottled:
        message = message_about(cls, status, what)
    return cls(message, status, code)


def message_about(cls, status, what):
    if cls is BossForbidden:
        return f"You don't have access to {what}."
    if cls is BossNotFound:
        return f"{what[:1].upper()}{what[1:]} does not exist."
    if cls is BossBadRequest:
        return f"BOSS refused the request for {what}."
    return f"BOSS answered {status} while reading {what}."
