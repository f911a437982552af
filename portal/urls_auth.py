"""Login (allauth, OIDC provider only), logout, and the API's identity check. See portal/auth/."""
from django.urls import include, path

from portal.auth import views

urlpatterns = [
    # Ahead of allauth's own logout view, which would not log out at the provider.
    path("accounts/logout/", views.logout_view, name="portal-logout"),
    path("accounts/", include("allauth.urls")),
    path("api/me/", views.api_me, name="portal-api-me"),
]
