from django.apps import AppConfig


class ViewerConfig(AppConfig):
    name = "devboss.viewer"
    verbose_name = "Neuroglancer client, served locally"

    def ready(self):
        from .credentials import connect_signals

        connect_signals()
