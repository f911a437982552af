"""The devboss login page, for the OIDC provider's authorization step."""
from django.contrib.auth.views import LoginView


class DevbossLoginView(LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True
