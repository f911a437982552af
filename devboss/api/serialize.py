"""Resources as BOSS returns them (boss-api.md sections 3.3 and 4).

intern reads most keys with `dict[...]`, so every key is always present and `description` is never null.
`time_step` and `time_step_unit` are null where they were never set, as on BOSS (real-boss behaviour 3; with
it forgiven they come back as 0 and "seconds").
"""
from . import access
from .realboss import forgiven


def _children(user, parent, related):
    """The names of a resource's children the caller may see: all of them if the parent is public."""
    children = related.filter(to_be_deleted__isnull=True)
    if not getattr(parent, "public", False):
        children = access.visible(user, children)
    return sorted(children.values_list("name", flat=True))


def collection(obj, user=None):
    experiments = obj.experiments.filter(to_be_deleted__isnull=True)
    return {
        "name": obj.name,
        "public": obj.public,
        "description": obj.description or "",
        "experiments": _children(user, obj, obj.experiments) if user else sorted(e.name for e in experiments),
        "creator": obj.creator.username,
    }


def coord_frame(obj):
    return {
        "name": obj.name,
        "description": obj.description or "",
        "x_start": obj.x_start, "x_stop": obj.x_stop,
        "y_start": obj.y_start, "y_stop": obj.y_stop,
        "z_start": obj.z_start, "z_stop": obj.z_stop,
        "x_voxel_size": float(obj.x_voxel_size),
        "y_voxel_size": float(obj.y_voxel_size),
        "z_voxel_size": float(obj.z_voxel_size),
        "voxel_unit": obj.voxel_unit,
        "creator": obj.creator.username,
    }


def experiment(obj, user=None):
    channels = obj.channels.filter(to_be_deleted__isnull=True)
    return {
        "channels": _children(user, obj, obj.channels) if user else sorted(c.name for c in channels),
        "name": obj.name,
        "public": obj.public,
        "description": obj.description or "",
        "collection": obj.collection.name,
        "coord_frame": obj.coord_frame.name,
        "num_hierarchy_levels": obj.num_hierarchy_levels,
        "hierarchy_method": obj.hierarchy_method,
        "num_time_samples": obj.num_time_samples,
        **_time_step(obj),
        "creator": obj.creator.username,
    }


def _time_step(obj):
    if forgiven(3):
        return {"time_step": int(obj.time_step or 0), "time_step_unit": obj.time_step_unit or "seconds"}
    return {"time_step": obj.time_step, "time_step_unit": obj.time_step_unit}


def channel(obj):
    return {
        "name": obj.name,
        "public": obj.public,
        "description": obj.description or "",
        "experiment": obj.experiment.name,
        "default_time_sample": obj.default_time_sample,
        "type": obj.type,
        "base_resolution": obj.base_resolution,
        "datatype": obj.datatype,
        "creator": obj.creator.username,
        "sources": list(obj.sources or []),
        "downsample_status": obj.downsample_status,
        "related": list(obj.related or []),
        "storage_type": obj.storage_type,
        "bucket": obj.bucket,
        "cv_path": obj.cv_path,
    }
