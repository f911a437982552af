"""BOSS's error shape: {"status", "code", "message"} JSON, whatever the route (boss-api.md section 1.4)."""
from django.http import JsonResponse

# code -> HTTP status (boss-api.md section 1.4, RESP_CODES)
INVALID_URL = 1000
INVALID_CUTOUT_ARGS = 1001
TYPE_ERROR = 1002
INVALID_POST_ARGUMENT = 1003
UNABLE_TO_VALIDATE = 1004
INVALID_ARGUMENT = 1005
BAD_REQUEST = 1006
REQUEST_TOO_LARGE = 2000
DATATYPE_DOES_NOT_MATCH = 2001
DATA_DIMENSION_MISMATCH = 2002
DATATYPE_NOT_SUPPORTED = 2003
UNSUPPORTED_4D = 2005
INVALID_STATE = 2006
MISSING_ROLE = 3000
MISSING_PERMISSION = 3001
ACCESS_DENIED_UNKNOWN = 3004
RESOURCE_NOT_FOUND = 4000
OBJECT_NOT_FOUND = 4004
RESOURCE_MARKED_FOR_DELETION = 4005
INTEGRITY_ERROR = 4003
BOSS_SYSTEM_ERROR = 9001
UNHANDLED_EXCEPTION = 9002
UNSUPPORTED_VERSION = 9003
NOT_AUTHENTICATED = 3004  # 401 answers use 3004 with a clear message

STATUS = {
    1000: 400, 1001: 400, 1002: 400, 1003: 400, 1004: 400, 1005: 400, 1006: 400,
    2000: 413, 2001: 400, 2002: 400, 2003: 400, 2004: 404, 2005: 400, 2006: 409,
    3000: 403, 3001: 403, 3003: 403,
    4000: 404, 4001: 404, 4002: 404, 4003: 400, 4004: 404, 4005: 404,
    9000: 404, 9001: 400, 9002: 500, 9003: 400,
}


class BossError(Exception):
    """Raise anywhere in a view; the middleware turns it into BOSS's JSON error."""

    def __init__(self, code, message, status=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or STATUS.get(code, 400)

    def response(self):
        return error_response(self.code, self.message, self.status)


def error_response(code, message, status=None):
    status = status or STATUS.get(code, 400)
    return JsonResponse({"status": status, "code": code, "message": message}, status=status)
