"""/api/zarr-links/: a user's Zarr links over the JSON API (list, create, rename or re-date, revoke).

The secret comes back once, in the answer to the POST that made it (`secret` and `url_template`); lists
show `prefix` only. A user sees and changes their own links only: anyone else's answer 404. DELETE revokes
(the row stays, state "revoked"), and the link answers 403 from that request on.
"""
from datetime import timedelta

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.response import Response

from cutouts.api import DetailSerializer
from cutouts.serializers import BOSS_NAME
from zarrview.models import ZarrLink

MAX_DAYS = 3650


def clean_scope(value):
    value = (value or "").strip().strip("/")
    if value and not (len(value.split("/")) <= 2 and all(BOSS_NAME.fullmatch(p) for p in value.split("/"))):
        raise serializers.ValidationError('A scope is "<collection>" or "<collection>/<experiment>" (BOSS names).')
    return value


class ZarrLinkSerializer(serializers.ModelSerializer):
    prefix = serializers.CharField(source="key_prefix", read_only=True,
                                   help_text="the secret's first characters, to tell links apart")
    state = serializers.CharField(read_only=True, help_text="active, expired or revoked")
    expires_in_days = serializers.IntegerField(
        write_only=True, required=False, allow_null=True, min_value=1, max_value=MAX_DAYS,
        help_text=f"days until it expires (1-{MAX_DAYS}); null: never. Default ZARR_LINK_DAYS")

    class Meta:
        model = ZarrLink
        fields = ["id", "name", "prefix", "scope", "state", "created", "expires", "expires_in_days", "revoked",
                  "last_used"]
        read_only_fields = ["id", "created", "expires", "revoked", "last_used"]

    def validate_scope(self, value):
        return clean_scope(value)

    def validate_name(self, value):
        value = value.strip()
        if not value:
            raise serializers.ValidationError("Give the link a name.")
        return value

    def _expires(self, validated):
        if "expires_in_days" not in validated:
            return None
        days = validated.pop("expires_in_days")
        return timezone.now() + timedelta(days=days) if days else None

    def create(self, validated):
        days = validated.pop("expires_in_days", settings.ZARR_LINK_DAYS)
        expires = timezone.now() + timedelta(days=days) if days else None
        owner = self.context["request"].user
        if ZarrLink.objects.filter(owner=owner).usable().count() >= settings.ZARR_MAX_LINKS_PER_USER:
            raise serializers.ValidationError({"name": f"You have {settings.ZARR_MAX_LINKS_PER_USER} active Zarr "
                                                       "links already: revoke one first."})
        link, secret = ZarrLink.create(owner, validated["name"], expires, validated.get("scope", ""))
        link.secret = secret
        return link

    def update(self, link, validated):
        if "expires_in_days" in validated:
            link.expires = self._expires(validated)
        link.name = validated.get("name", link.name)
        link.save(update_fields=["name", "expires"])
        return link


class NewZarrLinkSerializer(ZarrLinkSerializer):
    secret = serializers.CharField(read_only=True, help_text="shown this once: the link's credential")
    url_template = serializers.CharField(read_only=True,
                                         help_text="the Zarr URL of a channel: fill in the three names")

    class Meta(ZarrLinkSerializer.Meta):
        fields = ZarrLinkSerializer.Meta.fields + ["secret", "url_template"]


def url_template(request, secret):
    root = reverse("zarr-link-root", args=[secret, "C", "E", "CH"])
    return request.build_absolute_uri(root).replace("/C/E/CH.ome.zarr/", "/<collection>/<experiment>/<channel>.ome.zarr/")


NEEDS_LOGIN = OpenApiResponse(DetailSerializer, description="no portal session and no valid bearer token")
MISSING = OpenApiResponse(DetailSerializer, description="no such link of yours")
INVALID = OpenApiResponse(OpenApiTypes.OBJECT, description="a list of messages per field")


@extend_schema_view(
    list=extend_schema(summary="Your Zarr links, newest first", responses={200: ZarrLinkSerializer(many=True),
                                                                           401: NEEDS_LOGIN}),
    create=extend_schema(summary="Make a Zarr link (its secret is in this answer only)",
                         responses={201: NewZarrLinkSerializer, 400: INVALID, 401: NEEDS_LOGIN}),
    retrieve=extend_schema(summary="One of your Zarr links",
                           responses={200: ZarrLinkSerializer, 401: NEEDS_LOGIN, 404: MISSING}),
    partial_update=extend_schema(summary="Rename a Zarr link or change when it expires",
                                 responses={200: ZarrLinkSerializer, 400: INVALID, 401: NEEDS_LOGIN, 404: MISSING}),
    destroy=extend_schema(summary="Revoke a Zarr link: it answers 403 from now on",
                          responses={204: None, 401: NEEDS_LOGIN, 404: MISSING}),
)
class ZarrLinkViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, mixins.RetrieveModelMixin,
                      mixins.UpdateModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    queryset = ZarrLink.objects.all()  # for the schema (the type of {id}); get_queryset narrows it to the owner
    serializer_class = ZarrLinkSerializer
    permission_classes = [permissions.IsAuthenticated]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return ZarrLink.objects.filter(owner=self.request.user)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        link = serializer.save()
        link.url_template = url_template(request, link.secret)
        return Response(NewZarrLinkSerializer(link).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, link):
        link.revoke()
