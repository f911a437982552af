from django.apps import AppConfig


class OidcConfig(AppConfig):
    name = "devboss.oidc"
    label = "devboss_oidc"
    verbose_name = "devboss OpenID Connect provider"
