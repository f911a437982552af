"""BOSS resources: collections, coordinate frames, experiments, channels (boss-api.md section 3).

Permissions are simplified from BOSS's django-guardian groups to per-user grants: a user may read a
resource if it is public, if they created it, if they are staff, or if a Grant gives them the permission.
"""
import secrets

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

name_validator = RegexValidator(r"^[a-zA-Z0-9_-]*$", "Names may contain only letters, digits, '_' and '-'.")

VOXEL_UNITS = ["nanometers", "micrometers", "millimeters", "centimeters"]
HIERARCHY_METHODS = ["anisotropic", "isotropic"]
TIME_STEP_UNITS = ["nanoseconds", "microseconds", "milliseconds", "seconds"]
CHANNEL_TYPES = ["image", "annotation"]
DATATYPES = ["uint8", "uint16", "uint64"]  # uint32 is in BOSS's model but intern and spdb reject it
DOWNSAMPLE_STATUSES = ["NOT_DOWNSAMPLED", "QUEUED", "IN_PROGRESS", "DOWNSAMPLED", "FAILED"]

PERMISSIONS = ["read", "add", "update", "delete", "assign_group", "remove_group"]
VOLUMETRIC_PERMISSIONS = ["add_volumetric_data", "read_volumetric_data", "delete_volumetric_data"]


def _choices(values):
    return [(v, v) for v in values]


class Resource(models.Model):
    name = models.CharField(max_length=255, validators=[name_validator])
    description = models.CharField(max_length=4096, blank=True, default="")
    creator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # Soft delete, as BOSS does: the name stays taken and GET answers 404/4005.
    to_be_deleted = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    def __str__(self):
        return self.name


class Collection(Resource):
    public = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name"], name="collection_name_unique")]


class CoordinateFrame(Resource):
    x_start = models.IntegerField()
    x_stop = models.IntegerField()
    y_start = models.IntegerField()
    y_stop = models.IntegerField()
    z_start = models.IntegerField()
    z_stop = models.IntegerField()
    x_voxel_size = models.FloatField()
    y_voxel_size = models.FloatField()
    z_voxel_size = models.FloatField()
    voxel_unit = models.CharField(max_length=16, choices=_choices(VOXEL_UNITS))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name"], name="coord_name_unique")]


class Experiment(Resource):
    collection = models.ForeignKey(Collection, on_delete=models.PROTECT, related_name="experiments")
    coord_frame = models.ForeignKey(CoordinateFrame, on_delete=models.PROTECT, related_name="experiments")
    num_hierarchy_levels = models.IntegerField(default=1)
    hierarchy_method = models.CharField(max_length=16, choices=_choices(HIERARCHY_METHODS), default="anisotropic")
    num_time_samples = models.IntegerField(default=1)
    time_step = models.IntegerField(null=True, blank=True, default=0)
    # Nullable as in BOSS: experiments created without them answer null (real-boss behaviour 3).
    time_step_unit = models.CharField(max_length=16, blank=True, null=True, default="seconds")
    public = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["collection", "name"], name="experiment_name_unique")]


class Channel(Resource):
    experiment = models.ForeignKey(Experiment, on_delete=models.PROTECT, related_name="channels")
    type = models.CharField(max_length=16, choices=_choices(CHANNEL_TYPES), default="image")
    datatype = models.CharField(max_length=8, choices=_choices(DATATYPES), default="uint8")
    base_resolution = models.IntegerField(default=0)
    default_time_sample = models.IntegerField(default=0)
    sources = models.JSONField(default=list, blank=True)
    related = models.JSONField(default=list, blank=True)
    downsample_status = models.CharField(
        max_length=16, choices=_choices(DOWNSAMPLE_STATUSES), default="NOT_DOWNSAMPLED"
    )
    public = models.BooleanField(default=False)
    storage_type = models.CharField(max_length=16, default="spdb")
    bucket = models.CharField(max_length=255, null=True, blank=True)
    cv_path = models.CharField(max_length=255, null=True, blank=True)
    # Where the voxels come from: a procedural pattern (devboss.api.procedural), a volume stored on disk by
    # the load_volume command (a folder of .npy files, one per resolution level), or nothing ("empty": a
    # channel created over REST holds no voxels until written, as on BOSS). Cutout writes lie on top of any.
    source = models.CharField(max_length=255, blank=True, default="procedural")
    volume_path = models.CharField(max_length=1024, blank=True, default="")
    # Whether the levels above base_resolution hold data. False: the pyramid was never built (a channel
    # ingested but not yet downsampled), so those levels read back as zeros (image) or fail (annotation).
    levels_built = models.BooleanField(default=True)
    # Whether object ids and bounding boxes come from an id index (BOSS's DynamoDB index). False: ids lists
    # only what partial cuboids show, bounding boxes are 404 (real-boss behaviour 8).
    object_index = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["experiment", "name"], name="channel_name_unique")]


class Grant(models.Model):
    """Permissions one user holds on one resource (exactly one of collection/experiment/channel)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="boss_grants")
    collection = models.ForeignKey(Collection, null=True, blank=True, on_delete=models.CASCADE)
    experiment = models.ForeignKey(Experiment, null=True, blank=True, on_delete=models.CASCADE)
    channel = models.ForeignKey(Channel, null=True, blank=True, on_delete=models.CASCADE)
    permissions = models.JSONField(default=list)


def new_token_key():
    return secrets.token_hex(20)


class ApiToken(models.Model):
    """BOSS's DRF token: `Authorization: Token <key>` (40 hex characters)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="boss_token")
    key = models.CharField(max_length=64, unique=True, default=new_token_key)
    created = models.DateTimeField(auto_now_add=True)


class ReservedIds(models.Model):
    """The next free id of an annotation channel (reserve endpoint)."""

    channel = models.OneToOneField(Channel, on_delete=models.CASCADE, related_name="reserved")
    next_id = models.BigIntegerField(default=1)


class Metadata(models.Model):
    """Key/value metadata on a collection, experiment or channel (metadata service, boss-api.md section 7).

    `lookup` names the target like BOSS does: "c", "c&e" or "c&e&ch".
    """

    lookup = models.CharField(max_length=800)
    key = models.CharField(max_length=255)
    value = models.TextField(blank=True, default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["lookup", "key"], name="metadata_key_unique")]
