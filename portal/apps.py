from django.apps import AppConfig
from django.core import checks

from portal.checks import check_secret_key


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "BOSS portal"

    def ready(self):
        checks.register(check_secret_key)
