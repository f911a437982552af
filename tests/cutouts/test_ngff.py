"""cutouts/pipeline/writers/ngff.py: the NGFF 0.4 attributes the OME-Zarr writer sets with zarr, checked against ome-zarr itself:
its writer writes the same attributes, key for key, and its reader finds the axes, scales, translations and
labels in what they describe."""
import json

import numpy as np
import pytest
import zarr

from cutouts.pipeline.writers import ngff

NM = "nanometer"


def space_axes(unit=NM):
    return [ngff.axis(name, "space", unit) for name in ("z", "y", "x")]


def two_levels(lead=0, origin=(4000.0, 800.0, 1200.0)):
    translation = [0.0] * lead + list(origin)
    return [ngff.dataset(0, [1.0] * lead + [40, 4, 4], translation),
            ngff.dataset(1, [1.0] * lead + [40, 8, 8], translation)]


OMERO = {"channels": [{"label": "em", "active": True,
                       "window": {"min": 0.0, "max": 255.0, "start": 0.0, "end": 255.0}}]}


def write_image_with_labels(path, axes, datasets, omero, shape, label_names=("seg",)):
    """An image and its labels, every attribute from cutouts.pipeline.writers.ngff, the arrays as the OME-Zarr writer makes them."""
    root = zarr.open_group(zarr.storage.LocalStore(str(path)), mode="w", zarr_format=2)

    def arrays(group, dtype):
        for level, d in enumerate(datasets):
            factor = (1,) * (len(shape) - 2) + (2 ** level, 2 ** level)
            level_shape = tuple(-(-s // f) for s, f in zip(shape, factor))
            group.create_array(d["path"], shape=level_shape, dtype=dtype, fill_value=0,
                               chunk_key_encoding={"name": "v2", "separator": "/"})

    arrays(root, np.uint8)
    root.attrs.update(ngff.multiscales(datasets, axes, "box", omero=omero))
    labels = root.create_group("labels")
    for name in label_names:
        group = labels.create_group(name)
        arrays(group, np.uint64)
        group.attrs.update(ngff.multiscales(datasets, axes, name))
        group.attrs.update(ngff.image_label("../../"))
    labels.attrs.update(ngff.labels(label_names))
    return root


def read_nodes(path):
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Reader

    location = parse_url(str(path))
    assert location is not None, "ome-zarr does not recognise the group"
    return list(Reader(location)())


def test_ome_zarr_s_reader_finds_the_axes_scales_translations_and_labels(tmp_path):
    datasets = two_levels()
    write_image_with_labels(tmp_path / "box.zarr", space_axes(), datasets, OMERO, (4, 64, 96), ("seg", "cells"))
    nodes = read_nodes(tmp_path / "box.zarr")
    image = nodes[0]
    assert [a["name"] for a in image.metadata["axes"]] == ["z", "y", "x"]
    assert {a["unit"] for a in image.metadata["axes"]} == {NM}
    transforms = image.metadata["coordinateTransformations"]
    assert [t[0] for t in transforms] == [{"type": "scale", "scale": [40.0, 4.0, 4.0]},
                                          {"type": "scale", "scale": [40.0, 8.0, 8.0]}]
    assert [t[1] for t in transforms] == [{"type": "translation", "translation": [4000.0, 800.0, 1200.0]}] * 2
    assert [d.shape for d in image.data] == [(4, 64, 96), (4, 32, 48)]
    assert image.metadata["channel_names"] == ["em"]
    assert image.metadata["contrast_limits"] == [[0.0, 255.0]]

    labels = {n.zarr.path.rstrip("/").rsplit("/", 1)[-1]: n for n in nodes[1:] if "image-label" in n.zarr.root_attrs}
    assert set(labels) == {"seg", "cells"}
    for name, node in labels.items():
        assert node.zarr.root_attrs["image-label"] == {"source": {"image": "../../"}, "version": "0.4"}
        assert node.metadata["name"] == name
        assert node.metadata["coordinateTransformations"] == transforms
        assert node.data[0].dtype == np.uint64
    # The label group lists them, and each label's source leads back to the image.
    from ome_zarr.io import parse_url

    assert parse_url(str(tmp_path / "box.zarr" / "labels")).root_attrs == {"labels": ["seg", "cells"]}


def test_a_time_series_with_channels_reads_back_with_its_t_and_c_axes(tmp_path):
    axes = [ngff.axis("t", "time"), ngff.axis("c", "channel")] + space_axes("micrometer")
    datasets = [ngff.dataset(0, [1.0, 1.0, 2.0, 0.5, 0.5], [0.0, 0.0, 0.0, 0.0, 0.0])]
    omero = {"channels": [{"label": n, "active": True, "window": {"min": 0.0, "max": 65535.0, "start": 0.0,
                                                                    "end": 65535.0}} for n in ("a", "b")]}
    write_image_with_labels(tmp_path / "t.zarr", axes, datasets, omero, (3, 2, 4, 10, 30), label_names=())
    image = read_nodes(tmp_path / "t.zarr")[0]
    assert [(a["name"], a["type"], a.get("unit")) for a in image.metadata["axes"]] == [
        ("t", "time", None), ("c", "channel", None), ("z", "space", "micrometer"), ("y", "space", "micrometer"),
        ("x", "space", "micrometer")]
    assert image.metadata["coordinateTransformations"][0][0]["scale"] == [1.0, 1.0, 2.0, 0.5, 0.5]
    assert image.metadata["channel_names"] == ["a", "b"]


@pytest.mark.parametrize("lead_axes, omero", [
    ([], OMERO),
    ([ngff.axis("c", "channel")], {"channels": OMERO["channels"] * 2}),
    ([ngff.axis("t", "time")], None),
])
def test_the_attributes_are_those_ome_zarr_s_writer_writes_key_for_key(tmp_path, lead_axes, omero):
    from ome_zarr.format import FormatV04
    from ome_zarr.writer import write_label_metadata, write_multiscales_metadata

    axes = lead_axes + space_axes()
    datasets = two_levels(lead=len(lead_axes))
    theirs = zarr.open_group(zarr.storage.LocalStore(str(tmp_path / "theirs")), mode="w", zarr_format=2)
    extra = {"metadata": {"omero": json.loads(json.dumps(omero))}} if omero else {}
    write_multiscales_metadata(theirs, datasets, fmt=FormatV04(), axes=axes, name="box", **extra)
    their_labels = theirs.create_group("labels")
    for name in ("seg", "seg2"):
        group = their_labels.create_group(name)
        write_multiscales_metadata(group, datasets, fmt=FormatV04(), axes=axes, name=name)
        write_label_metadata(their_labels, name, fmt=FormatV04(), source={"image": "../../"})

    ours = zarr.open_group(zarr.storage.LocalStore(str(tmp_path / "ours")), mode="w", zarr_format=2)
    ours.attrs.update(ngff.multiscales(datasets, axes, "box", omero=omero))
    our_labels = ours.create_group("labels")
    for name in ("seg", "seg2"):
        group = our_labels.create_group(name)
        group.attrs.update(ngff.multiscales(datasets, axes, name))
        group.attrs.update(ngff.image_label("../../"))
    our_labels.attrs.update(ngff.labels(["seg", "seg2"]))

    for member in (".zattrs", "labels/.zattrs", "labels/seg/.zattrs", "labels/seg2/.zattrs"):
        assert (tmp_path / "ours" / member).read_text() == (tmp_path / "theirs" / member).read_text(), member


@pytest.mark.parametrize("axes, datasets, problem", [
    ([ngff.axis("z", "space"), ngff.axis("c", "channel"), ngff.axis("x", "space")], None, "space axes, last"),
    ([ngff.axis("c", "channel"), ngff.axis("t", "time")] + space_axes(), None, "time axis (first)"),
    ([ngff.axis("z", "space", "nanometers")] + space_axes()[1:], None, "not an NGFF 0.4 space unit"),
    ([ngff.axis("x", "space"), ngff.axis("x", "space")], None, "distinct"),
    (space_axes(), [ngff.dataset(0, [40, 4])], "one value per axis"),
    (space_axes(), [ngff.dataset(0, [40, 4, 4], [0, 0])], "one value per axis"),
    (space_axes(), [{"path": "0", "coordinateTransformations": [{"type": "translation", "translation": [0] * 3}]}],
     "one scale"),
    (space_axes(), [], "at least one dataset"),
])
def test_what_ngff_0_4_forbids_is_refused(axes, datasets, problem):
    with pytest.raises(ValueError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        ngff.multiscales(two_levels() if datasets is None else datasets, axes, "box")


def test_label_names_must_be_distinct():
    with pytest.raises(ValueError, match="distinct"):
        ngff.labels(["seg", "seg"])
