"""devboss routes: the BOSS v1 API at the host root, `/latest/` as its alias (boss-api.md sections 1.2, 13).

Every pattern takes an optional trailing slash and nothing redirects; `/v1/collection//` is the
collection list (what intern sends). Range segments are matched loosely so that the views answer a
malformed range with BOSS's JSON error when behaviour 10 is forgiven; by default the views answer segments
BOSS's own patterns would not route with its HTML 404 (devboss.api.realboss.routes).
"""
from django.urls import include, re_path

from devboss.api import views_channels as chan
from devboss.api import views_cutout as cut
from devboss.api import views_devboss as dev
from devboss.api import views_resources as res
from devboss.api import views_volume as vol

V = r"^(?:v1|latest)/"
N = r"(?P<{}>[^/]+)"  # names: validated in the views, so bad names get a JSON error
c, e, ch = N.format("c"), N.format("e"), N.format("ch")
RANGES = r"(?P<r>[^/]+)/(?P<x>[^/]+)/(?P<y>[^/]+)/(?P<z>[^/]+)(?:/(?P<t>[^/]+))?"

urlpatterns = [
    re_path(r"^ping/?$", res.ping),
    re_path(V + r"collection/{0,2}$", res.collection_list),
    re_path(V + rf"collection/{c}/?$", res.collection_detail),
    re_path(V + r"coord/?$", res.coord_list),
    re_path(V + rf"coord/{N.format('cf')}/?$", res.coord_detail),
    re_path(V + rf"collection/{c}/experiment/?$", res.experiment_list),
    re_path(V + rf"collection/{c}/experiment/{e}/?$", res.experiment_detail),
    re_path(V + rf"collection/{c}/experiment/{e}/channel/?$", chan.channel_list),
    re_path(V + rf"collection/{c}/experiment/{e}/channel/{ch}/?$", chan.channel_detail),
    re_path(V + rf"meta/{c}(?:/{e}(?:/{ch})?)?/?$", res.metadata),
    re_path(V + rf"cutout/to_black/{c}/{e}/{ch}/{RANGES}/?$", cut.to_black),
    re_path(V + rf"cutout/{c}/{e}/{ch}/{RANGES}/?$", cut.cutout),
    re_path(V + rf"downsample/{c}/{e}/{ch}/?$", vol.downsample),
    re_path(V + rf"ids/{c}/{e}/{ch}/{RANGES}/?$", vol.ids),
    re_path(V + rf"boundingbox/{c}/{e}/{ch}/(?P<r>[^/]+)/(?P<obj_id>[^/]+)/?$", vol.boundingbox),
    re_path(V + rf"reserve/{c}/{e}/{ch}/(?P<n>[^/]+)/?$", vol.reserve),
    re_path(r"^devboss/faults/?$", dev.faults),
    re_path(r"^devboss/stats/?$", dev.stats),
    re_path(r"^devboss/forgive/?$", dev.forgive),
    re_path(r"^devboss/throttle/?$", dev.throttling),
    re_path(r"^v0\.\d+/", res.unsupported_version),
]

# Optional parts add their routes when present: the OIDC provider and the local Neuroglancer client.
for module in ("devboss.oidc.urls", "devboss.viewer.urls"):
    try:
        urlpatterns.append(re_path(r"^", include(module)))
    except ImportError:
        pass

urlpatterns.append(re_path(r"^", res.not_found))
