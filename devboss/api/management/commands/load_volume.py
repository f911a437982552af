"""`python -m devboss load_volume COLLECTION EXPERIMENT CHANNEL PATH`: serve a real volume from devboss.

PATH is a .npy (Z, Y, X) array, a TIFF stack file, or a folder of 2-D TIFFs (sorted by name, one per z).
Missing collection, coordinate frame and experiment are created; the levels are written under
settings.DEVBOSS_VOLUME_DIR by the decimation rule of devboss.api.procedural, and the channel is
marked source="stored".
"""
from pathlib import Path

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from devboss.api import volumes
from devboss.api.models import VOXEL_UNITS, Channel, Collection, CoordinateFrame, Experiment

TYPES = {"uint8": "image", "uint16": "image", "uint64": "annotation"}


def read_volume(path):
    """A (Z, Y, X) array from a .npy file, a TIFF stack, or a folder of 2-D TIFFs."""
    import tifffile

    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in (".tif", ".tiff"))
        if not files:
            raise CommandError(f"{path} holds no .tif/.tiff files.")
        volume = np.stack([tifffile.imread(p) for p in files])
    elif path.suffix.lower() == ".npy":
        volume = np.load(path, allow_pickle=False)
    elif path.suffix.lower() in (".tif", ".tiff"):
        volume = tifffile.imread(path)
    else:
        raise CommandError(f"{path}: expected a .npy file, a TIFF file or a folder of TIFFs.")
    if volume.ndim == 2:
        volume = volume[None]
    if volume.ndim != 3:
        raise CommandError(f"{path}: expected a 3-D (Z, Y, X) volume, got shape {volume.shape}.")
    if volume.dtype.name not in TYPES:
        raise CommandError(f"{path}: dtype {volume.dtype} is not one of {sorted(TYPES)}.")
    return volume


class Command(BaseCommand):
    help = "Load a volume (.npy, TIFF stack or folder of TIFFs) into a devboss channel."

    def add_arguments(self, parser):
        parser.add_argument("collection")
        parser.add_argument("experiment")
        parser.add_argument("channel")
        parser.add_argument("path")
        parser.add_argument("--voxel-size", default="4,4,40", help="x,y,z (default 4,4,40)")
        parser.add_argument("--unit", default="nanometers", choices=VOXEL_UNITS)
        parser.add_argument("--levels", type=int, default=None, help="resolution levels (default: down to ~512 px)")
        parser.add_argument("--public", action="store_true")
        parser.add_argument("--owner", default="admin", help="creator of anything created (default admin)")
        parser.add_argument("--type", choices=["image", "annotation"], default=None)

    def handle(self, *args, **opts):
        try:
            voxel = [float(v) for v in opts["voxel_size"].split(",")]
            assert len(voxel) == 3 and min(voxel) > 0
        except (ValueError, AssertionError):
            raise CommandError("--voxel-size must be three positive numbers: x,y,z")
        owner = get_user_model().objects.filter(username=opts["owner"]).first()
        if owner is None:
            raise CommandError(f"No user {opts['owner']!r}: run `python -m devboss seed` or pass --owner.")
        volume = read_volume(opts["path"])
        z, y, x = volume.shape
        levels = opts["levels"] or max(1, int(np.ceil(np.log2(max(x, y) / 512))) + 1)
        channel = self.create_resources(opts, owner, volume, voxel, levels)
        frame = channel.experiment.coord_frame
        if (frame.x_stop - frame.x_start, frame.y_stop - frame.y_start, frame.z_stop - frame.z_start) != (x, y, z):
            self.stderr.write(f"Note: frame {frame.name} is not {x}x{y}x{z}; voxels outside it are not served.")
        directory = Path(settings.DEVBOSS_VOLUME_DIR) / opts["collection"] / opts["experiment"] / opts["channel"]
        volumes.write_levels(
            volume, directory, (frame.x_start, frame.y_start, frame.z_start),
            channel.experiment.num_hierarchy_levels, channel.experiment.hierarchy_method,
        )
        channel.source, channel.volume_path = "stored", str(directory)
        channel.save(update_fields=["source", "volume_path"])
        self.stdout.write(f"Loaded {x}x{y}x{z} {volume.dtype} into {opts['collection']}/{opts['experiment']}/"
                          f"{opts['channel']} ({channel.experiment.num_hierarchy_levels} levels) at {directory}")

    @transaction.atomic
    def create_resources(self, opts, owner, volume, voxel, levels):
        z, y, x = volume.shape
        public = opts["public"]
        collection, _ = Collection.objects.get_or_create(
            name=opts["collection"], defaults={"creator": owner, "public": public}
        )
        experiment = Experiment.objects.filter(collection=collection, name=opts["experiment"]).first()
        if experiment is None:
            frame_name = f"{opts['collection']}_{opts['experiment']}_frame"
            frame, _ = CoordinateFrame.objects.get_or_create(name=frame_name, defaults=dict(
                creator=owner, x_start=0, x_stop=x, y_start=0, y_stop=y, z_start=0, z_stop=z,
                x_voxel_size=voxel[0], y_voxel_size=voxel[1], z_voxel_size=voxel[2], voxel_unit=opts["unit"],
            ))
            experiment = Experiment.objects.create(
                collection=collection, name=opts["experiment"], coord_frame=frame, creator=owner,
                num_hierarchy_levels=levels, public=public,
            )
        datatype = volume.dtype.name
        kind = opts["type"] or TYPES[datatype]
        channel, created = Channel.objects.get_or_create(experiment=experiment, name=opts["channel"], defaults=dict(
            creator=owner, type=kind, datatype=datatype, public=public, downsample_status="DOWNSAMPLED",
        ))
        if not created and channel.datatype != datatype:
            raise CommandError(f"Channel {channel.name} holds {channel.datatype}, the volume is {datatype}.")
        return channel
