"""A newcomer copies the zarr + dask snippet from the experiment page and reads the data, as printed, in a
Python of their own (a subprocess): nothing is downloaded but the chunks it computes."""
import html
import re
import subprocess
import sys

import numpy as np
import pytest
import requests

from devboss.api import procedural

pytestmark = pytest.mark.django_db(transaction=True)


def snippet(page, kind, channel):
    found = re.search(rf'id="zarr-code-{kind}-{channel}"[^>]*><code>(.*?)</code>', page, re.S)
    assert found, f"no {kind} snippet for {channel}"
    return html.unescape(found.group(1))


def test_the_zarr_snippet_of_the_experiment_page_runs_as_printed(site, tmp_path):
    page = requests.get(f"{site}/c/demo/cortex/", timeout=60).text
    code = snippet(page, "python", "em")
    assert "zarr.open_group(" in code and "da.from_zarr" in code
    # The user's own next line: save the box the snippet computed.
    script = code + f"\nimport numpy; numpy.save({str(tmp_path / 'box.npy')!r}, box)\n"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "(128, 2048, 2048) uint8" in done.stdout
    got = np.load(tmp_path / "box.npy")
    want = procedural.cutout("demo/cortex/em", "uint8", "image", 0, (0, 512), (0, 512), (100, 116))[0]
    np.testing.assert_array_equal(got, want)


def test_the_napari_and_neuroglancer_snippets_name_the_same_url(site):
    page = requests.get(f"{site}/c/demo/cortex/", timeout=60).text
    url = f"{site}/zarr/public/demo/cortex/seg.ome.zarr/"
    assert snippet(page, "napari", "seg") == f'napari --plugin napari-ome-zarr "{url}"'
    link = html.unescape(re.search(r'class="zarr-neuroglancer" href="([^"]+)"', page).group(1))
    assert "zarr%3A%2F%2F" in link or "zarr://" in link
