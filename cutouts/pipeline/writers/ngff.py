"""NGFF 0.4 (OME-Zarr) metadata as plain dicts, for `zarr` to write as a group's attributes.

These are the attributes ome-zarr's writer (`write_multiscales_metadata`, `write_label_metadata` with
`FormatV04`) writes, key for key and in the same order, built here without it: ome-zarr pulls in dask,
scikit-image and scipy, which the portal's worker has no other use for. ome-zarr stays a test tool, whose
reader checks what these functions build (tests/cutouts/test_ngff.py).

    group.attrs.update(multiscales(datasets, axes, name, omero=...))     # an image (or a label image)
    labels_group.attrs.update(labels(["seg"]))                            # <image>/labels
    labels_group["seg"].attrs.update(image_label("../../"))              # <image>/labels/seg

Each function checks what NGFF 0.4 asks of its arguments (axis order and types, known units, one scale
per dataset with one entry per axis) and raises ValueError otherwise.

Which channels become the image and which its labels (`split_channels`, `layout_problem`) is decided here
too: validation asks it in the web processes, which need none of the writer's modules.
"""
import numpy as np

VERSION = "0.4"

# The UDUNITS-2 names NGFF 0.4 lists for space and time axes.
SPACE_UNITS = frozenset({
    "angstrom", "attometer", "centimeter", "decimeter", "exameter", "femtometer", "foot", "gigameter",
    "hectometer", "inch", "kilometer", "megameter", "meter", "micrometer", "mile", "millimeter", "nanometer",
    "parsec", "petameter", "picometer", "terameter", "yard", "yoctometer", "yottameter", "zeptometer",
    "zettameter",
})
TIME_UNITS = frozenset({
    "attosecond", "centisecond", "day", "decisecond", "exasecond", "femtosecond", "gigasecond",
    "hectosecond", "hour", "kilosecond", "megasecond", "microsecond", "millisecond", "minute", "nanosecond",
    "petasecond", "picosecond", "second", "terasecond", "yoctosecond", "yottasecond", "zeptosecond",
    "zettasecond",
})
AXIS_TYPES = ("time", "channel", "space")


def axis(name, type, unit=None):
    """One entry of `axes`: {"name", "type"[, "unit"]}."""
    return {"name": name, "type": type, **({"unit": unit} if unit else {})}


def dataset(path, scale, translation=None):
    """One entry of `datasets`: the array at `path`, its voxel size (`scale`) and offset (`translation`),
    one number per axis, in the axes' units."""
    transforms = [{"type": "scale", "scale": [float(v) for v in scale]}]
    if translation is not None:
        transforms.append({"type": "translation", "translation": [float(v) for v in translation]})
    return {"path": str(path), "coordinateTransformations": transforms}


def multiscales(datasets, axes, name, omero=None):
    """The attributes of a multiscale image group: `omero` (when given: {"channels": [...]}, for image
    channels' labels and display windows) then `multiscales`, a list of one image, finest level first."""
    _check_axes(axes)
    _check_datasets(datasets, len(axes))
    if omero is not None:
        _check_omero(omero)
    image = {"datasets": [dict(d) for d in datasets], "name": name, "axes": [dict(a) for a in axes],
             "version": VERSION}
    return {**({"omero": omero} if omero is not None else {}), "multiscales": [image]}


def labels(names):
    """The attributes of an image's `labels` group: the names of its label images (subgroups)."""
    names = list(names)
    if len(set(names)) != len(names) or not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"label names must be distinct non-empty strings: {names}")
    return {"labels": names}


def image_label(source="../../"):
    """The attributes added to a label image (besides its `multiscales`): `image-label`, with the path from
    the label group to the image it labels (`labels/<name>/` -> `../../`)."""
    return {"image-label": {"source": {"image": source}, "version": VERSION}}


def _check_axes(axes):
    if not 2 <= len(axes) <= 5:
        raise ValueError(f"NGFF 0.4 images have 2 to 5 axes, not {len(axes)}")
    names = [a.get("name") for a in axes]
    if len(set(names)) != len(names) or not all(names):
        raise ValueError(f"axis names must be distinct and non-empty: {names}")
    types = [a.get("type") for a in axes]
    if any(t not in AXIS_TYPES for t in types):
        raise ValueError(f"axis types must be one of {AXIS_TYPES}: {types}")
    n_space = types.count("space")
    if n_space not in (2, 3) or types[-n_space:] != ["space"] * n_space:
        raise ValueError(f"NGFF 0.4 needs 2 or 3 space axes, last: {types}")
    if types.count("time") > 1 or types.count("channel") > 1 or ("time" in types and types[0] != "time"):
        raise ValueError(f"at most one time axis (first) and one channel axis: {types}")
    for a in axes:
        unit = a.get("unit")
        known = SPACE_UNITS if a["type"] == "space" else TIME_UNITS if a["type"] == "time" else None
        if unit is not None and (known is None or unit not in known):
            raise ValueError(f"unit {unit!r} is not an NGFF 0.4 {a['type']} unit (axis {a['name']})")


def _check_datasets(datasets, ndim):
    if not datasets:
        raise ValueError("a multiscale image needs at least one dataset")
    for d in datasets:
        if not d.get("path"):
            raise ValueError(f"dataset without a path: {d}")
        transforms = d.get("coordinateTransformations") or []
        kinds = [t.get("type") for t in transforms]
        if kinds not in (["scale"], ["scale", "translation"]):
            raise ValueError(f"each dataset has one scale, then at most one translation: {kinds}")
        for t in transforms:
            values = t[t["type"]]
            if len(values) != ndim:
                raise ValueError(f"{t['type']} {values} must have one value per axis ({ndim})")


def _check_omero(omero):
    for channel in omero.get("channels", []):
        window = channel.get("window")
        if window is not None and not all(isinstance(window.get(k), (int, float))
                                          for k in ("min", "max", "start", "end")):
            raise ValueError(f"an omero window needs numeric min, max, start and end: {window}")


def split_channels(channels):
    """(image channels, label channels) from [(name, dtype, kind)]: uint64 annotations become labels when
    there is an image to label; a cutout of annotations only is itself the image."""
    images = [c for c in channels if not (c[2] == "annotation" and np.dtype(c[1]) == np.uint64)]
    labels = [c for c in channels if c not in images]
    if not images:
        return labels, []
    return images, labels


def layout_problem(channels):
    """Why these [(name, dtype, kind)] can't be one OME-Zarr image, or None."""
    images, _ = split_channels(channels)
    dtypes = sorted({str(np.dtype(c[1])) for c in images})
    if len(dtypes) > 1:
        return (f"the image channels have different datatypes ({', '.join(dtypes)}): one OME-Zarr image "
                "holds one datatype on its channel axis; cut them out separately or choose tiff-zip")
    return None
