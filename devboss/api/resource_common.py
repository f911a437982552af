"""What the resource views (devboss.api.views_resources, devboss.api.views_channels) share.

`boss_view` wraps every one of them: it authenticates the caller, refuses anonymous writes, checks the names
in the URL and turns bad bodies and surprises into BOSS's JSON errors. Then the JSON body and field parsers,
the permission and read-only checks, renames, taken names and soft deletes.
"""
import json
import logging
import re
from functools import wraps

from django.db import IntegrityError
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from . import access, errors, realboss
from .auth import authenticate
from .errors import BossError

log = logging.getLogger(__name__)

NAME_RE = re.compile(r"^[a-zA-Z0-9_-]+$")
READ_METHODS = ("GET", "HEAD", "OPTIONS")


def _bad(message):
    return BossError(errors.INVALID_POST_ARGUMENT, message)


def check_name(name):
    if len(name) > 255 or not NAME_RE.match(name):
        raise _bad(f"Invalid name {name!r}: names may contain only letters, digits, '_' and '-'.")
    return name


def boss_view(*methods):
    """Wrap a view: allowed methods, authentication, URL name checks, JSON errors for everything."""

    def decorator(view):
        @csrf_exempt
        @wraps(view)
        def wrapper(request, **kwargs):
            try:
                refused = realboss.check_json_accept(request)  # DRF negotiates before anything else
                if refused is not None:
                    return refused
                if request.method not in methods:
                    raise BossError(errors.BAD_REQUEST, f"Method {request.method} is not allowed here.", 405)
                user = authenticate(request)
                if request.method not in READ_METHODS and not user.is_authenticated:
                    raise BossError(errors.NOT_AUTHENTICATED, "Authentication credentials were not provided.", 401)
                for value in kwargs.values():
                    if value is not None:
                        check_name(value)
                return view(request, user, **kwargs)
            except BossError as exc:
                return exc.response()
            except IntegrityError as exc:
                return errors.error_response(errors.INTEGRITY_ERROR, f"Integrity error: {exc}")
            except Exception:  # a dev server still answers in BOSS's shape, never an HTML 500
                log.exception("unhandled error on %s %s", request.method, request.path)
                return errors.error_response(errors.UNHANDLED_EXCEPTION, "Unhandled exception, see the server log.")

        return wrapper

    return decorator


def read_body(request):
    """The JSON object in the body; empty bodies (intern's GETs and DELETEs) are `{}`."""
    if not request.body or not request.body.strip():
        return {}
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise _bad("The request body is not valid JSON.")
    if not isinstance(body, dict):
        raise _bad("The request body must be a JSON object.")
    return body


def _int(body, key, default=None, minimum=None):
    value = body.get(key, default)
    if value is None:
        raise _bad(f"{{'{key}': ['This field is required.']}}")
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not re.match(r"^-?\d+$", str(value).strip()):
        raise _bad(f"{{'{key}': ['A valid integer is required.']}}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise _bad(f"{{'{key}': ['Ensure this value is greater than or equal to {minimum}.']}}")
    return value


def _float(body, key):
    value = body.get(key)
    if value is None:
        raise _bad(f"{{'{key}': ['This field is required.']}}")
    try:
        if isinstance(value, bool):
            raise ValueError
        return float(value)
    except (TypeError, ValueError):
        raise _bad(f"{{'{key}': ['A valid number is required.']}}")


def _choice(body, key, choices, default=None):
    value = body.get(key, default)
    if value is None:
        raise _bad(f"{{'{key}': ['This field is required.']}}")
    if value not in choices:
        raise _bad(f"{{'{key}': ['\"{value}\" is not a valid choice; use one of {', '.join(choices)}.']}}")
    return value


def _bool(body, key, default=False):
    value = body.get(key, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise _bad(f"{{'{key}': ['Must be a valid boolean.']}}")


def _text(body, key, default=""):
    value = body.get(key, default)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _bad(f"{{'{key}': ['Not a valid string.']}}")
    if len(value) > 4096:
        raise _bad(f"{{'{key}': ['Ensure this field has no more than 4096 characters.']}}")
    return value


def _require(user, resource, perm):
    if not access.has_permission(user, resource, perm):
        raise BossError(errors.MISSING_PERMISSION, f"Missing {perm} permissions on the resource {resource.name}")


def _readonly(body, allowed, current=None):
    """BOSS's update serializers refuse keys that are not updatable (unchanged values are tolerated)."""
    bad = [k for k in body if k not in allowed and (current is None or current.get(k) != body[k])]
    if bad:
        raise _bad(f"{{'fields': ['Cannot update the following readonly fields:{bad}']}}")


def _new_name(body, model, current, **scope):
    """A rename through `name` in a PUT body: valid and not taken (soft-deleted names stay taken)."""
    name = body.get("name", current.name)
    if not isinstance(name, str):
        raise _bad("{'name': ['Not a valid string.']}")
    if name != current.name:
        check_name(name)
        if model.objects.filter(name=name, **scope).exists():
            raise _bad(f"{{'name': ['{model._meta.verbose_name} with this name already exists.']}}")
    return name


def _taken(model, name, **scope):
    if model.objects.filter(name=name, **scope).exists():
        raise _bad(f"{{'name': ['{model._meta.verbose_name} with this name already exists.']}}")


def _soft_delete(obj):
    obj.to_be_deleted = timezone.now()
    obj.save(update_fields=["to_be_deleted"])
    return HttpResponse(status=204)


def _alive(related):
    return related.filter(to_be_deleted__isnull=True)
