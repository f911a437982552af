"""Neuroglancer (ndviz) links: one state dict built here, serialised with json.dumps, never by hand.

ndwebtools built these URLs as Python-repr strings with no voxel size; we send the current JSON state,
with the frame's voxel size so that scale bars and coordinates read in real units.
"""
import json
from urllib.parse import quote

from django.conf import settings

METRES_PER_UNIT = {"nanometers": 1e9, "micrometers": 1e6, "millimeters": 1e3, "centimeters": 1e2}

# Roughly the width, in screen pixels, one cross-section panel gets in a 4-panel layout.
PANEL_PIXELS = 512


def _metres(size, unit):
    # Divide rather than multiply: 40 / 1e9 is 4e-08 exactly as printed, 40 * 1e-9 is not.
    return float(size) / METRES_PER_UNIT[unit]


def viewer_state(collection, experiment, channels, frame, boss_url=None, layout="4panel", box=None, windows=None):
    """The Neuroglancer state showing `channels` (objects with name/type) of one experiment.

    One layer per channel: `image` for image channels, `segmentation` (npz-encoded, exact ids) for
    annotation channels, drawn above the images. Position is the frame centre in voxels; the zoom
    fits the frame's x/y extent into one panel. With `box` ((x0, x1), (y0, y1), (z0, z1) in level-0
    voxels), the view is framed on the box instead, which is drawn as a bounding-box annotation.
    `windows` ({channel name: (low, high)}, from client.display_windows) sets an image layer's display
    range (the default shader's `normalized` control), so that a uint16 channel whose values sit far
    below 65535 is not drawn black.
    """
    boss_url = (boss_url or settings.BOSS_PUBLIC_URL).rstrip("/")
    ordered = [ch for ch in channels if ch.type != "annotation"] + [ch for ch in channels if ch.type == "annotation"]
    layers = []
    for ch in ordered:
        source = f"boss://{boss_url}/{collection}/{experiment}/{ch.name}"
        if ch.type == "annotation":
            layers.append({"type": "segmentation", "source": source + "?encoding=npz", "name": ch.name})
        else:
            layer = {"type": "image", "source": source, "name": ch.name}
            if windows and ch.name in windows:
                low, high = windows[ch.name]
                layer["shaderControls"] = {"normalized": {"range": [int(low), int(high)]}}
            layers.append(layer)
    extent_x, extent_y, extent_z = (frame.x_stop - frame.x_start, frame.y_stop - frame.y_start,
                                    frame.z_stop - frame.z_start)
    state = {
        "dimensions": {
            "x": [_metres(frame.x_voxel_size, frame.voxel_unit), "m"],
            "y": [_metres(frame.y_voxel_size, frame.voxel_unit), "m"],
            "z": [_metres(frame.z_voxel_size, frame.voxel_unit), "m"],
        },
        "position": [(frame.x_start + frame.x_stop) / 2, (frame.y_start + frame.y_stop) / 2,
                     (frame.z_start + frame.z_stop) / 2],
        "crossSectionScale": max(1.0, max(extent_x, extent_y) / PANEL_PIXELS),
        "projectionScale": float(max(extent_x, extent_y, extent_z) * 2),
        "layers": layers,
        "layout": layout,
    }
    if box is not None:
        (x0, x1), (y0, y1), (z0, z1) = box
        state["position"] = [(x0 + x1) / 2, (y0 + y1) / 2, (z0 + z1) / 2]
        state["crossSectionScale"] = max(1.0, max(x1 - x0, y1 - y0) / PANEL_PIXELS)
        state["projectionScale"] = float(max(x1 - x0, y1 - y0, z1 - z0) * 2)
        layers.append({
            "type": "annotation",
            "source": "local://annotations",
            "name": "cutout box",
            "annotations": [{"type": "axis_aligned_bounding_box", "id": "cutout-box",
                             "pointA": [x0, y0, z0], "pointB": [x1, y1, z1]}],
        })
    return state


def viewer_url(collection, experiment, channels, frame, ndviz_url=None, boss_url=None, layout="4panel", box=None,
               windows=None):
    """NDVIZ_URL#!<url-quoted JSON state>."""
    state = viewer_state(collection, experiment, channels, frame, boss_url=boss_url, layout=layout, box=box,
                         windows=windows)
    return (ndviz_url or settings.NDVIZ_URL) + "#!" + quote(json.dumps(state, separators=(",", ":")), safe="")
