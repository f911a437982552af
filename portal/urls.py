from django.urls import include, path

from portal import views

urlpatterns = [
    path("", views.home, name="portal-home"),
    path("", include("portal.urls_auth")),    # login, logout, /api/ authentication (OIDC)
    path("", include("portal.urls_browse")),  # collections, experiments, channels, /api/ browse
]
urlpatterns.append(path("", include("cutouts.urls")))  # the cutout form, jobs, downloads, /api/cutouts/
