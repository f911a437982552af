"""boss-cutout's exit codes and the error that carries one (documented in cutouts/cli/__init__.py)."""
from bossdb.errors import BossBadRequest, BossForbidden, BossNotFound, BossThrottled, BossUnavailable

EXIT_OK, EXIT_BUG, EXIT_USAGE, EXIT_NOT_FOUND, EXIT_AUTH, EXIT_UNAVAILABLE, EXIT_OUTPUT = 0, 1, 2, 3, 4, 5, 6
EXIT_THROTTLED = 7
EXIT_INTERRUPTED = 130


class CliError(Exception):
    """A failure whose message is for the user, with the exit code documented above."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


class Interrupted(Exception):
    pass


def exit_code_for(exc):
    if isinstance(exc, BossForbidden):
        return EXIT_AUTH
    if isinstance(exc, BossNotFound):
        return EXIT_NOT_FOUND
    if isinstance(exc, BossBadRequest):
        return EXIT_USAGE
    if isinstance(exc, BossThrottled):
        return EXIT_THROTTLED
    return EXIT_UNAVAILABLE


WHAT = {EXIT_AUTH: "BOSS refused the token", EXIT_NOT_FOUND: "BOSS has no such resource",
        EXIT_USAGE: "BOSS refused the request", EXIT_THROTTLED: "BOSS throttled this token"}


def cli_error(exc, what, tries):
    """The CliError for a BOSS error on `what` (after `tries` tries when it was a transient failure)."""
    if isinstance(exc, BossUnavailable):
        return CliError(EXIT_UNAVAILABLE, f"BOSS failed on {what} after {tries} tries: {exc.message}")
    code = exit_code_for(exc)
    rejected = "token rejected: " if exc.boss_status == 401 else ""
    return CliError(code, f"{rejected}{WHAT[code]} ({what}): {exc.message}")
