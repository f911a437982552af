from django.apps import AppConfig
from django.core import checks

from cutouts.checks import check_results_storage


class CutoutsConfig(AppConfig):
    name = "cutouts"
    verbose_name = "Cutouts"

    def ready(self):
        checks.register(check_results_storage)
