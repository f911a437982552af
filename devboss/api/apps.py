from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "devboss.api"
    label = "bossapi"
    verbose_name = "devboss API"
