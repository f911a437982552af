from django.apps import AppConfig


class ZarrviewConfig(AppConfig):
    name = "zarrview"
    verbose_name = "OME-Zarr view of BOSS channels"
