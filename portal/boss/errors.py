"""The small set of errors BOSS calls raise; views turn them into pages in one place."""


class BossError(Exception):
    """Base class. `message` is safe to show to the user (never holds a token)."""

    status = 502

    def __init__(self, message="", boss_status=None):
        super().__init__(message)
        self.message = message
        self.boss_status = boss_status


class BossUnavailable(BossError):
    """BOSS is down, answered 5xx, or sent something we could not read."""

    status = 502


class BossTimeout(BossUnavailable):
    status = 504


class BossForbidden(BossError):
    """401/403: the caller may not see this."""

    status = 403


class BossNotFound(BossError):
    status = 404


class BossBadRequest(BossError):
    """BOSS refused the request's arguments (400/413)."""

    status = 400


class LoginRequired(BossError):
    """No usable credential: anonymous without BOSS_PUBLIC_TOKEN, or a token that can't be refreshed."""

    status = 401
