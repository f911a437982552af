"""Look up resources for a caller, with BOSS's visibility and permission rules (boss-api.md section 2.4).

Every view goes through these helpers: they raise BossError with BOSS's codes (404/4000 unknown,
404/4005 marked for deletion, 403/3001 missing permission), so views never check permissions by hand.
"""
from django.db.models import Q

from . import errors
from .models import Channel, Collection, CoordinateFrame, Experiment, Grant


def _granted(user, perm, **target):
    if not user.is_authenticated:
        return False
    for grant in Grant.objects.filter(user=user, **target):
        if perm in grant.permissions:
            return True
    return False


def is_privileged(user, resource):
    """Staff and the creator hold every permission on a resource."""
    return user.is_authenticated and (user.is_staff or resource.creator_id == user.pk)


def has_permission(user, resource, perm):
    """`perm` (read, add, update, delete, ...) on a resource: creator, staff, or a grant.

    Coordinate frames have no grants: only their creator and staff may change them.
    """
    if is_privileged(user, resource):
        return True
    field = type(resource).__name__.lower()
    if field not in ("collection", "experiment", "channel"):
        return False
    return _granted(user, perm, **{field: resource})


def can_read(user, resource):
    """`public` flag on that object, or `read` (creator, staff, or a grant)."""
    if getattr(resource, "public", False) or is_privileged(user, resource):
        return True
    field = type(resource).__name__.lower()
    return _granted(user, "read", **{field: resource})


def can_read_volume(user, channel):
    """Cutout/downsample/boundingbox GET: `channel.public` or `read_volumetric_data`."""
    if channel.public or is_privileged(user, channel):
        return True
    return _granted(user, "read_volumetric_data", channel=channel)


def can_read_volume_strict(user, channel):
    """ids GET: `read_volumetric_data` only, no public bypass (BOSS quirk)."""
    if is_privileged(user, channel):
        return True
    return _granted(user, "read_volumetric_data", channel=channel)


def _found(obj, name):
    if obj is None:
        raise errors.BossError(errors.RESOURCE_NOT_FOUND, f"{name} does not exist.")
    if obj.to_be_deleted is not None:
        raise errors.BossError(
            errors.RESOURCE_MARKED_FOR_DELETION, "Invalid Request. This Resource has been marked for deletion"
        )
    return obj


def _readable(user, obj, name):
    if not can_read(user, obj):
        raise errors.BossError(errors.MISSING_PERMISSION, f"Missing read permissions on the resource {name}")
    return obj


def get_collection(user, c):
    obj = _found(Collection.objects.filter(name=c).first(), c)
    return _readable(user, obj, c)


def get_experiment(user, c, e):
    collection = get_collection(user, c)
    obj = _found(
        Experiment.objects.select_related("collection", "coord_frame").filter(collection=collection, name=e).first(), e
    )
    return _readable(user, obj, e)


def get_channel(user, c, e, ch):
    experiment = get_experiment(user, c, e)
    obj = _found(
        Channel.objects.select_related("experiment__collection", "experiment__coord_frame")
        .filter(experiment=experiment, name=ch)
        .first(),
        ch,
    )
    return _readable(user, obj, ch)


def get_volume_channel(user, c, e, ch, strict=False):
    """The channel for a volume request (cutout, downsample, ids, boundingbox), or 403/3001."""
    channel = get_channel(user, c, e, ch)
    allowed = can_read_volume_strict(user, channel) if strict else can_read_volume(user, channel)
    if not allowed:
        raise errors.BossError(errors.MISSING_PERMISSION, "This user does not have the required permissions")
    return channel


def get_coord_frame(cf):
    """Coordinate frames are readable by anyone, even anonymous callers."""
    return _found(CoordinateFrame.objects.filter(name=cf).first(), cf)


def visible(user, queryset):
    """Filter a queryset of collections/experiments/channels to what `user` may list."""
    if user.is_authenticated and user.is_staff:
        return queryset.filter(to_be_deleted__isnull=True)
    field = queryset.model.__name__.lower()
    q = Q(public=True)
    if user.is_authenticated:
        # JSONField has no `contains` lookup on SQLite: filter the (few) grants here.
        granted = [
            getattr(g, f"{field}_id") for g in Grant.objects.filter(user=user) if "read" in g.permissions
        ]
        q |= Q(creator=user) | Q(pk__in=[pk for pk in granted if pk is not None])
    return queryset.filter(q, to_be_deleted__isnull=True)
