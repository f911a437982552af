"""Copyable ways to open a channel's Zarr URL: napari, zarr-python + dask, a Neuroglancer link."""
import json
from urllib.parse import quote

from django.conf import settings


def napari(url):
    return f'napari --plugin napari-ome-zarr "{url}"'


def python(url, channel):
    return (
        "import dask.array as da\n"
        "import zarr  # over HTTP: pip install zarr fsspec aiohttp dask\n\n"
        f'image = zarr.open_group("{url}", mode="r")\n'
        "levels = [d['path'] for d in image.attrs['multiscales'][0]['datasets']]  # finest first\n"
        f"{channel} = da.from_zarr(image[levels[0]])\n"
        f"print({channel}.shape, {channel}.dtype)  # ([t,] z, y, x): nothing is read until you compute\n"
        f"box = {channel}[..., :16, :512, :512].compute()  # one chunk, one BOSS cuboid\n"
    )


def neuroglancer(url, channel, label):
    """A Neuroglancer link (ZARR_NEUROGLANCER_URL) with one layer reading the URL through `zarr://`."""
    layer = {"type": "segmentation" if label else "image", "name": channel, "source": f"zarr://{url}"}
    state = {"layers": [layer], "selectedLayer": {"layer": channel}, "layout": "xy"}
    return settings.ZARR_NEUROGLANCER_URL + "#!" + quote(json.dumps(state, separators=(",", ":")), safe="")


def for_channel(url, channel, label):
    if url is None:
        return None
    return {"url": url, "napari": napari(url), "python": python(url, channel),
            "neuroglancer": neuroglancer(url, channel, label)}


def public_zarr_url(request, experiment, channel):
    """The public Zarr URL of a channel anyone may read (public experiment and channel), else None."""
    from zarrview.views import public_url

    if settings.BOSS_PUBLIC_TOKEN and experiment.public and channel.public:
        return public_url(request, experiment.collection, experiment.name, channel.name)
    return None
