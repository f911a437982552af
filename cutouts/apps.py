from django.apps import AppConfig
from django.core import checks

from cutouts.checks import check_results_storage


class CutoutsConfig(AppConfig):
    name = "cutouts"
    verbose_name = "Cutouts"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from cutouts import logins
        from portal.auth.signals import bearer_authenticated

        checks.register(check_results_storage)
        # allauth's admin would show every user's access and refresh tokens: the portal's admin never does.
        # (Every admin module is loaded by now: django.contrib.admin's ready() comes first.)
        from allauth.socialaccount.models import SocialToken
        from django.contrib import admin

        if admin.site.is_registered(SocialToken):
            admin.site.unregister(SocialToken)
        # A user back with a fresh credential: their jobs waiting for a login go back to the queue.
        user_logged_in.connect(logins.on_login, dispatch_uid="cutouts-resume-on-login")
        bearer_authenticated.connect(logins.on_bearer, dispatch_uid="cutouts-resume-on-api-call")
