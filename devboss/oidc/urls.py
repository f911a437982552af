"""The OIDC provider where Keycloak has its endpoints: issuer `<host>/auth/realms/BOSS`.

The routes are named as django-oauth-toolkit names its own (in its namespace), so DOT's discovery
document advertises these Keycloak-shaped addresses.
"""
from django.urls import include, path, re_path
from oauth2_provider import views as dot

from devboss.oidc.views import DevbossLoginView, DevbossLogoutView, portal_css

OIDC = "protocol/openid-connect/"

provider_patterns = [
    re_path(r"^\.well-known/openid-configuration/?$", dot.ConnectDiscoveryInfoView.as_view(),
            name="oidc-connect-discovery-info"),
    path(OIDC + "auth", dot.AuthorizationView.as_view(), name="authorize"),
    path(OIDC + "token", dot.TokenView.as_view(), name="token"),
    path(OIDC + "token/introspect", dot.IntrospectTokenView.as_view(), name="introspect"),
    path(OIDC + "revoke", dot.RevokeTokenView.as_view(), name="revoke-token"),
    path(OIDC + "userinfo", dot.UserInfoView.as_view(), name="user-info"),
    path(OIDC + "certs", dot.JwksInfoView.as_view(), name="jwks-info"),
    path(OIDC + "logout", DevbossLogoutView.as_view(), name="rp-initiated-logout"),
]

urlpatterns = [
    path("auth/realms/BOSS/", include((provider_patterns, "oauth2_provider"))),
    path("auth/realms/BOSS/login/", DevbossLoginView.as_view(), name="devboss-login"),
    path("auth/realms/BOSS/resources/portal.css", portal_css, name="devboss-portal-css"),
]
