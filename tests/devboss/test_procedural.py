"""devboss.api.procedural: the pure function that defines every demo voxel."""
import numpy as np
import pytest

from devboss.api import procedural

KEY = "demo/cortex/seg"


def test_it_is_deterministic():
    a = procedural.cutout("demo/cortex/em", "uint8", "image", 0, (0, 300), (0, 200), (100, 110))
    b = procedural.cutout("demo/cortex/em", "uint8", "image", 0, (0, 300), (0, 200), (100, 110))
    assert np.array_equal(a, b)


@pytest.mark.parametrize("datatype,kind", [("uint8", "image"), ("uint16", "image"), ("uint64", "annotation")])
def test_it_returns_a_c_order_tzyx_array_of_the_datatype(datatype, kind):
    arr = procedural.cutout("demo/cortex/x", datatype, kind, 1, (5, 37), (7, 20), (100, 103), t=(0, 2))
    assert arr.shape == (2, 3, 13, 32)
    assert arr.dtype == np.dtype(datatype)
    assert arr.flags.c_contiguous


def test_a_block_equals_the_same_region_of_a_larger_cutout():
    big = procedural.cutout(KEY, "uint64", "annotation", 0, (0, 1024), (0, 1024), (100, 140))
    part = procedural.cutout(KEY, "uint64", "annotation", 0, (300, 700), (260, 900), (110, 133))
    assert np.array_equal(big[:, 10:33, 260:900, 300:700], part)


@pytest.mark.parametrize("datatype,kind", [("uint8", "image"), ("uint64", "annotation")])
@pytest.mark.parametrize("level", [1, 2, 3])
def test_each_anisotropic_level_decimates_level_0_in_x_and_y(datatype, kind, level):
    s = 2**level
    level0 = procedural.cutout(KEY, datatype, kind, 0, (0, 1024), (0, 1024), (100, 120))
    coarse = procedural.cutout(KEY, datatype, kind, level, (0, 1024 // s), (0, 1024 // s), (100, 120))
    assert np.array_equal(level0[:, :, ::s, ::s], coarse)


def test_isotropic_levels_decimate_z_too():
    level0 = procedural.cutout(KEY, "uint64", "annotation", 0, (0, 512), (0, 512), (0, 64), hierarchy="isotropic")
    level1 = procedural.cutout(KEY, "uint64", "annotation", 1, (0, 256), (0, 256), (0, 32), hierarchy="isotropic")
    assert np.array_equal(level0[:, ::2, ::2, ::2], level1)


def test_uint16_images_use_more_than_the_uint8_range():
    arr = procedural.cutout("demo/cortex/fluo", "uint16", "image", 1, (0, 1024), (0, 1024), (100, 104))
    assert arr.max() > 50000
    assert arr.min() < 40000


def test_images_have_bright_spheres_over_a_smooth_background():
    arr = procedural.cutout("demo/cortex/em", "uint8", "image", 0, (0, 1024), (0, 1024), (100, 116))[0]
    assert arr.max() >= 209  # sphere brightness starts at 82% of 255
    # Smooth: neighbouring background voxels differ by little.
    assert np.median(np.abs(np.diff(arr.astype(int), axis=2))) <= 1


def test_annotations_label_objects_with_ids_some_above_2_to_the_32():
    arr = procedural.cutout(KEY, "uint64", "annotation", 2, (0, 512), (0, 512), (100, 228))
    ids = np.unique(arr)
    assert ids[0] == 0
    assert len(ids) > 50
    assert (ids > 2**32).any() and ((ids > 0) & (ids < 2**32)).any()


def test_the_segmentation_labels_the_image_spheres():
    seg = procedural.cutout("demo/cortex/seg", "uint64", "annotation", 0, (0, 1024), (0, 1024), (100, 132))
    em = procedural.cutout("demo/cortex/em", "uint8", "image", 0, (0, 1024), (0, 1024), (100, 132))
    assert em[seg > 0].min() > em[seg == 0].max() * 0.9


def test_channels_differ():
    a = procedural.cutout("demo/cortex/em", "uint8", "image", 0, (0, 256), (0, 256), (100, 104))
    b = procedural.cutout("demo/large/em", "uint8", "image", 0, (0, 256), (0, 256), (100, 104))
    assert not np.array_equal(a, b)


def test_time_changes_the_values():
    arr = procedural.cutout("demo/timelapse/calcium", "uint16", "image", 0, (0, 512), (0, 512), (0, 8), t=(0, 3))
    assert not np.array_equal(arr[0], arr[1])
    assert not np.array_equal(arr[1], arr[2])


def test_it_finds_an_object_box_from_its_id_at_each_level():
    arr = procedural.cutout(KEY, "uint64", "annotation", 0, (0, 768), (0, 768), (100, 164))[0]
    obj_id = int(np.unique(arr)[5])
    zs, ys, xs = np.nonzero(arr == obj_id)
    box = procedural.object_box(KEY, obj_id, 0)
    assert box == ((xs.min(), xs.max() + 1), (ys.min(), ys.max() + 1), (zs.min() + 100, zs.max() + 101))
    coarse = procedural.cutout(KEY, "uint64", "annotation", 2, (0, 192), (0, 192), (100, 164))[0]
    zs, ys, xs = np.nonzero(coarse == obj_id)
    box = procedural.object_box(KEY, obj_id, 2)
    assert box == ((xs.min(), xs.max() + 1), (ys.min(), ys.max() + 1), (zs.min() + 100, zs.max() + 101))


def test_an_unknown_id_has_no_box():
    assert procedural.object_box(KEY, 2**63 + 12345, 0) is None
    assert procedural.object_box(KEY, 0, 0) is None

