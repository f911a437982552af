"""The errors BOSS calls raise (bossdb.errors); views turn them into pages in one place (portal/errors.py)."""
from bossdb.errors import (  # noqa: F401
    BossBadRequest, BossError, BossForbidden, BossNotFound, BossThrottled, BossTimeout, BossUnavailable,
    LoginRequired,
)
