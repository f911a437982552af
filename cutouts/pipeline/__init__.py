"""The cutout pipeline, shared by the web jobs (cutouts/engine.py) and `boss-cutout` (cutouts/cli/). Django-free.

    spec.py        CutoutSpec: what to cut out (resource, channels, level, box, time, format, parts)
    plan.py        blocks on BOSS's cuboid grid, parts on cuboid boundaries
    fetch.py       one fetch loop: bounded concurrency, retries through bossdb, cancel and progress hooks
    writers/       format -> writer (OME-TIFF, ImageJ TIFF, TIFF zip, OME-Zarr zip, TIFF stack)
    provenance.py  the provenance.json beside every result
    recipes.py     the same box as intern, curl, portal-API and boss-cutout commands
"""
