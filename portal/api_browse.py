"""Browsing data as JSON: page builders shared with the HTML views, their JSON form, and the /api/ views.

/api/collections/, /api/collections/<c>/experiments/, /api/collections/<c>/experiments/<e>/ answer the
same JSON as `?format=json` on /c/, /c/<c>/ and /c/<c>/<e>/.
"""
from dataclasses import asdict, dataclass

from django.core.paginator import Paginator
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes, renderer_classes
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from bossdb.levels import STATUS_MEANING
from portal import ngstate
from portal.boss import client
from zarrview.snippets import public_zarr_url

PAGE_SIZE = 50
RECENT_KEY = "recent_collections"
RECENT_MAX = 10


def refresh_requested(request):
    return request.GET.get("refresh") == "1"


def remember_collection(request, name):
    """Keep the last opened collections in the session, newest first."""
    before = request.session.get(RECENT_KEY, [])
    if before[:1] == [name]:
        return  # already first: no session write (a page view must not cost a database commit)
    recent = [n for n in before if n != name]
    request.session[RECENT_KEY] = [name, *recent][:RECENT_MAX]


# --- Page builders -------------------------------------------------------------------------------------

@dataclass
class CollectionsPage:
    collections: list  # client.Collection, this page only
    page: object  # django Page over names
    q: str
    recent: list  # names opened recently (and readable), newest first


def collections_page(request):
    refresh = refresh_requested(request)
    names = client.list_collections(request.user, refresh=refresh)
    q = request.GET.get("q", "").strip()
    if q:
        names = _matching(request.user, names, q.lower(), refresh)
    readable = set(names)
    recent = [n for n in request.session.get(RECENT_KEY, []) if n in readable]
    ordered = recent + [n for n in names if n not in recent]
    page = Paginator(ordered, PAGE_SIZE).get_page(request.GET.get("page"))
    collections = client.get_collections(request.user, list(page.object_list), refresh=refresh)
    return CollectionsPage(collections, page, q, recent)


def _matching(user, names, needle, refresh):
    """Collections whose name or description contains `needle` (lower case). BOSS's list has names only,
    so the others' descriptions are looked up (in threads, cached like every lookup) and searched too."""
    by_name = {n for n in names if needle in n.lower()}
    others = [n for n in names if n not in by_name]
    described = {c.name for c in client.get_collections(user, others, refresh=refresh)
                 if needle in (c.description or "").lower()} if others else set()
    return [n for n in names if n in by_name or n in described]


def collection_page(request, collection):
    return client.get_collection_rows(request.user, collection, refresh=refresh_requested(request))


@dataclass
class ChannelLinks:
    channel: client.Channel
    viewer_url: str
    cutout_url: str
    levels_served: list = ()  # the resolutions BOSS serves data for (bossdb.levels)
    downsample_meaning: str = ""


def experiment_page(request, collection, experiment):
    refresh = refresh_requested(request)
    detail = client.get_experiment_detail(request.user, collection, experiment, refresh=refresh)
    base = reverse("browse-experiment", args=[collection, experiment])
    windows = client.display_windows(request.user, detail, refresh=refresh)
    rows = [
        ChannelLinks(ch, ngstate.viewer_url(collection, experiment, [ch], detail.frame, windows=windows),
                     f"{base}cutout/?channels={ch.name}", detail.usable([ch.name]),
                     STATUS_MEANING.get(ch.downsample_status, ch.downsample_status))
        for ch in detail.channels
    ]
    all_url = (ngstate.viewer_url(collection, experiment, detail.channels, detail.frame, windows=windows)
               if detail.channels else "")
    return detail, rows, all_url


# --- JSON forms ------------------------------------------------------------------------------------------

def frame_json(frame):
    if frame is None:
        return None
    return {**asdict(frame), "extent": list(frame.extent), "physical_extent": list(frame.physical_extent)}


def collections_json(request, p):
    return {
        "collections": [
            {"name": c.name, "description": c.description, "public": c.public,
             "url": request.build_absolute_uri(reverse("browse-collection", args=[c.name]))}
            for c in p.collections
        ],
        "q": p.q, "recent": p.recent, "page": p.page.number, "num_pages": p.page.paginator.num_pages,
        "count": p.page.paginator.count,
    }


def collection_json(request, collection, rows):
    return {
        "collection": asdict(collection),
        "experiments": [
            {**asdict(r.experiment), "coord_frame_detail": frame_json(r.frame),
             "url": request.build_absolute_uri(reverse("browse-experiment", args=[collection.name, r.experiment.name]))}
            for r in rows
        ],
    }


def experiment_json(request, detail, rows, all_url):
    return {
        "experiment": asdict(detail.experiment),
        "coord_frame": frame_json(detail.frame),
        "levels": [asdict(level) for level in detail.levels] if detail.levels is not None else None,
        "levels_error": detail.levels_error,
        "channels": [
            {**asdict(r.channel), "viewer_url": r.viewer_url, "cutout_url": request.build_absolute_uri(r.cutout_url),
             "levels_served": list(r.levels_served), "downsample_meaning": r.downsample_meaning,
             "zarr_url": public_zarr_url(request, detail.experiment, r.channel)}
            for r in rows
        ],
        "viewer_url_all_channels": all_url,
    }


# --- The JSON's shapes, for the schema ------------------------------------------------------------------
# (The builders above write the JSON; tests/api/ checks real answers against these.)

def _list(child):
    return serializers.ListField(child=child)


def _triple(child):
    return serializers.ListField(child=child, min_length=3, max_length=3, help_text="(x, y, z)")


class CollectionLinkSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()
    public = serializers.BooleanField()
    url = serializers.URLField()


class CollectionsSerializer(serializers.Serializer):
    collections = CollectionLinkSerializer(many=True, help_text="this page of the collections you can read")
    q = serializers.CharField()
    recent = _list(serializers.CharField())
    page = serializers.IntegerField()
    num_pages = serializers.IntegerField()
    count = serializers.IntegerField()


class CollectionSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()
    public = serializers.BooleanField()
    creator = serializers.CharField()
    experiments = _list(serializers.CharField())


class FrameSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()
    x_start = serializers.IntegerField()
    x_stop = serializers.IntegerField()
    y_start = serializers.IntegerField()
    y_stop = serializers.IntegerField()
    z_start = serializers.IntegerField()
    z_stop = serializers.IntegerField()
    x_voxel_size = serializers.FloatField()
    y_voxel_size = serializers.FloatField()
    z_voxel_size = serializers.FloatField()
    voxel_unit = serializers.CharField()
    extent = _triple(serializers.IntegerField())
    physical_extent = _triple(serializers.FloatField())


class ExperimentSerializer(serializers.Serializer):
    name = serializers.CharField()
    collection = serializers.CharField()
    coord_frame = serializers.CharField()
    description = serializers.CharField()
    num_hierarchy_levels = serializers.IntegerField()
    hierarchy_method = serializers.CharField()
    num_time_samples = serializers.IntegerField()
    time_step = serializers.FloatField(allow_null=True)
    time_step_unit = serializers.CharField()
    public = serializers.BooleanField()
    creator = serializers.CharField()
    channels = _list(serializers.CharField())


class ExperimentRowSerializer(ExperimentSerializer):
    coord_frame_detail = FrameSerializer(allow_null=True)
    url = serializers.URLField()


class CollectionPageSerializer(serializers.Serializer):
    collection = CollectionSerializer()
    experiments = ExperimentRowSerializer(many=True)


class LevelSerializer(serializers.Serializer):
    resolution = serializers.IntegerField()
    voxel_size = _triple(serializers.FloatField())
    extent = _triple(serializers.IntegerField())
    cuboid_size = _list(serializers.IntegerField())
    start = _triple(serializers.IntegerField())
    bounds = serializers.ListField(child=_list(serializers.IntegerField()), allow_null=True, required=False,
                                   help_text="what BOSS serves at this level: [[x0, x1], [y0, y1], [z0, z1]], or null")


class ChannelSerializer(serializers.Serializer):
    name = serializers.CharField()
    experiment = serializers.CharField()
    type = serializers.ChoiceField(choices=["image", "annotation"])
    datatype = serializers.CharField()
    description = serializers.CharField()
    base_resolution = serializers.IntegerField()
    default_time_sample = serializers.IntegerField()
    downsample_status = serializers.CharField()
    public = serializers.BooleanField()
    creator = serializers.CharField()
    sources = _list(serializers.CharField())
    related = _list(serializers.CharField())
    storage_type = serializers.CharField(required=False, help_text="spdb, or cloudvol (CloudVolume)")
    cv_path = serializers.CharField(allow_null=True, required=False)
    viewer_url = serializers.URLField()
    cutout_url = serializers.URLField()
    levels_served = serializers.ListField(child=serializers.IntegerField(),
                                          help_text="the levels BOSS serves this channel's data at")
    downsample_meaning = serializers.CharField(help_text="what the downsample status means for the levels")
    zarr_url = serializers.URLField(allow_null=True, help_text="the channel as a public OME-Zarr (napari, zarr, "
                                    "Neuroglancer zarr://); null when private: use a Zarr link (/api/zarr-links/)")


class ExperimentPageSerializer(serializers.Serializer):
    experiment = ExperimentSerializer()
    coord_frame = FrameSerializer(allow_null=True)
    levels = LevelSerializer(many=True, allow_null=True)
    levels_error = serializers.CharField()
    channels = ChannelSerializer(many=True)
    viewer_url_all_channels = serializers.CharField()


class BossErrorSerializer(serializers.Serializer):
    error = serializers.CharField()
    detail = serializers.CharField()
    status = serializers.IntegerField()


class LoginAgainSerializer(serializers.Serializer):
    detail = serializers.CharField()


BOSS_ERRORS = {
    401: OpenApiResponse(LoginAgainSerializer, description="your login can't be renewed: log in again"),
    403: OpenApiResponse(BossErrorSerializer, description="BOSS says you can't read this"),
    404: OpenApiResponse(BossErrorSerializer, description="BOSS has no such resource"),
    502: OpenApiResponse(BossErrorSerializer, description="BOSS is unreachable"),
    504: OpenApiResponse(BossErrorSerializer, description="BOSS did not answer in time"),
}
REFRESH = OpenApiParameter("refresh", OpenApiTypes.INT, enum=[1], description="1: ask BOSS again, not the cache")


# --- /api/ views ------------------------------------------------------------------------------------------
# AllowAny: anonymous callers read public data with the public token; BOSS decides what each caller sees.

def _api(fn):
    return api_view(["GET"])(permission_classes([AllowAny])(renderer_classes([JSONRenderer])(fn)))


@extend_schema(operation_id="collections_list", summary="Collections you can read",
               responses={200: CollectionsSerializer, **BOSS_ERRORS}, parameters=[
                   OpenApiParameter("q", description="only collections whose name or description contains this"),
                   OpenApiParameter("page", OpenApiTypes.INT, description=f"page number ({PAGE_SIZE} a page)"),
                   REFRESH])
@_api
def api_collections(request):
    return Response(collections_json(request, collections_page(request)))


@extend_schema(operation_id="collection_retrieve", summary="A collection and its experiments with their frames",
               parameters=[REFRESH], responses={200: CollectionPageSerializer, **BOSS_ERRORS})
@_api
def api_collection(request, collection):
    coll, rows = collection_page(request, collection)
    return Response(collection_json(request, coll, rows))


@extend_schema(operation_id="experiment_retrieve", parameters=[REFRESH],
               summary="An experiment: frame, resolution levels, channels and viewer links",
               responses={200: ExperimentPageSerializer, **BOSS_ERRORS})
@_api
def api_experiment(request, collection, experiment):
    return Response(experiment_json(request, *experiment_page(request, collection, experiment)))
