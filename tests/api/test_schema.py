"""/api/schema/: a valid OpenAPI 3 document that lists every /api/ route with its methods, request bodies and
answers; and the API's real answers fit it."""
import re
from datetime import timedelta

import jsonschema
import pytest
from django.contrib.auth import get_user_model
from django.urls import get_resolver
from django.utils import timezone
from drf_spectacular.validation import validate_schema

pytestmark = pytest.mark.django_db

NOT_THE_API = ("api/schema/", "api/docs/")


@pytest.fixture
def schema(client):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def api_routes():
    """{OpenAPI path: {methods}} of every /api/ URL pattern, from the view classes themselves."""

    def walk(patterns, prefix=""):
        for p in patterns:
            if hasattr(p, "url_patterns"):
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            else:
                yield prefix + str(p.pattern), p.callback

    routes = {}
    for pattern, view in walk(get_resolver().url_patterns):
        if pattern.startswith("^"):  # a router's regex: ^api/zarr-links/(?P<pk>[^/.]+)/$
            if "(?P<format>" in pattern:
                continue  # the .json suffix variants are not in the schema
            pattern = re.sub(r"\(\?P<pk>[^)]*\)", "<id>", pattern.strip("^$"))
        if pattern.startswith("api/") and pattern not in NOT_THE_API:
            path = "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", pattern)
            allowed = getattr(view.cls, "http_method_names", ())
            methods = set(m for m in (getattr(view, "actions", None) or {}) if m in allowed) or set(
                          m for m in ("get", "post", "put", "patch", "delete") if hasattr(view.cls, m))
            routes.setdefault(path, set()).update(methods)
    return routes


def as_json_schema(node, components):
    """An OpenAPI 3.0 schema object as plain JSON Schema: references inlined, `nullable` as a null type."""
    if isinstance(node, list):
        return [as_json_schema(n, components) for n in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return as_json_schema(components[node["$ref"].rsplit("/", 1)[1]], components)
    out = {k: as_json_schema(v, components) for k, v in node.items() if k not in ("nullable", "readOnly")}
    return {"anyOf": [out, {"type": "null"}]} if node.get("nullable") else out


def fits(schema, name, data):
    components = schema["components"]["schemas"]
    jsonschema.validate(data, as_json_schema(components[name], components))


def test_the_schema_is_valid_openapi_3(schema):
    assert schema["openapi"].startswith("3.")
    validate_schema(schema)  # drf-spectacular's check against the OpenAPI 3 JSON Schema
    assert schema["info"]["title"] == "BOSS portal API"
    assert {"bearerAuth", "cookieAuth"} <= set(schema["components"]["securitySchemes"])


def test_every_api_route_is_in_the_schema_with_its_methods(schema):
    routes = api_routes()
    assert "/api/cutouts/{job_id}/download" in routes and "/api/me/" in routes
    assert {path: set(ops) for path, ops in schema["paths"].items()} == routes


def test_every_operation_documents_its_answers(schema):
    for path, operations in schema["paths"].items():
        for method, op in operations.items():
            where = f"{method.upper()} {path}"
            assert op.get("summary"), where
            codes = set(op["responses"])
            assert any(code.startswith("2") for code in codes), where
            assert any(code.startswith("4") for code in codes), where
            for code, answer in op["responses"].items():
                if code not in ("204", "302", "416"):
                    assert answer.get("content"), f"{where} {code} has no body schema"
            if path.startswith("/api/cutouts/"):
                assert "401" in codes, where


def test_the_cutout_request_is_documented_field_by_field(schema):
    body = schema["paths"]["/api/cutouts/"]["post"]["requestBody"]
    assert body["required"] and set(body["content"]) == {"application/json"}
    request = schema["components"]["schemas"]["CutoutRequest"]
    assert set(request["properties"]) == {"collection", "experiment", "channels", "resolution", "x", "y", "z", "t",
                                          "format", "compression", "parts", "name"}
    assert set(request["required"]) == {"collection", "experiment", "channels", "x", "y", "z"}
    assert schema["components"]["schemas"]["FormatEnum"]["enum"] == ["ome-tiff", "tiff-zip", "imagej-tiff", "ome-zarr"]
    for action in ("cancel", "retry"):
        assert "requestBody" not in schema["paths"][f"/api/cutouts/{{job_id}}/{action}"]["post"]
    download = schema["paths"]["/api/cutouts/{job_id}/download"]["get"]["responses"]
    assert download["200"]["content"]["application/octet-stream"]["schema"]["format"] == "binary"


def test_the_cutout_apis_answers_fit_the_schema(schema, client):
    from cutouts.models import CutoutJob

    alice = get_user_model().objects.create_user("alice", email="alice@example.org")
    now = timezone.now()
    done = CutoutJob.objects.create(
        owner=alice, collection="demo", experiment="cortex", channels=["em"], resolution=0, x0=0, x1=10, y0=0, y1=10,
        z0=100, z1=132, state="done", split=True, blocks_done=2, blocks_total=2, result_name="box.zip",
        result_size=3200, started=now, finished=now, expires=now + timedelta(days=7), attempts=1,
        parts=[{"n": 1, "name": "box.part1.tif", "size": 1600, "z": [100, 116]},
               {"n": 2, "name": "box.part2.tif", "size": 1600, "z": [116, 132]}],
        meta={"channels": {"em": {"datatype": "uint8", "type": "image"}}})
    failed = CutoutJob.objects.create(owner=alice, collection="demo", experiment="cortex", channels=["em"],
                                      resolution=0, x0=0, x1=10, y0=0, y1=10, z0=100, z1=104, t0=0, t1=2,
                                      time_range=True, state="failed", error="BOSS said no")
    assert client.get("/api/cutouts/").status_code == 401
    fits(schema, "Detail", client.get("/api/cutouts/").json())

    client.force_login(alice)
    for job in (done, failed):
        fits(schema, "Job", client.get(f"/api/cutouts/{job.pk}/").json())
    listed = client.get("/api/cutouts/").json()
    fits(schema, "JobList", listed)
    assert [job["id"] for job in listed["jobs"]] == [str(failed.pk), str(done.pk)]  # newest first
    assert listed["jobs"][1]["result"]["parts"][1]["download"].endswith(f"/api/cutouts/{done.pk}/parts/2")
    refused = client.post("/api/cutouts/", {}, content_type="application/json")
    assert refused.status_code == 400
    fits(schema, "Errors", refused.json())
    fits(schema, "Detail", client.post(f"/api/cutouts/{done.pk}/cancel").json())
    fits(schema, "Me", client.get("/api/me/").json())


def test_the_browse_schemas_name_every_field_of_boss_resources():
    from dataclasses import fields

    from portal import api_browse
    from portal.boss import client

    for resource, serializer in ((client.Collection, api_browse.CollectionSerializer),
                                 (client.CoordFrame, api_browse.FrameSerializer),
                                 (client.Experiment, api_browse.ExperimentSerializer),
                                 (client.Channel, api_browse.ChannelSerializer),
                                 (client.Level, api_browse.LevelSerializer)):
        missing = {f.name for f in fields(resource)} - set(serializer().fields)
        assert not missing, f"{serializer.__name__} lacks {missing}"


def test_the_browse_apis_answers_fit_the_schema(schema, client, settings, devboss):
    from django.core.cache import cache

    settings.BOSS_URL = settings.BOSS_PUBLIC_URL = devboss.url
    cache.clear()
    fits(schema, "Collections", client.get("/api/collections/").json())
    fits(schema, "CollectionPage", client.get("/api/collections/demo/experiments/").json())
    experiment = client.get("/api/collections/demo/experiments/cortex/").json()
    fits(schema, "ExperimentPage", experiment)
    assert {ch["name"] for ch in experiment["channels"]} == {"em", "fluo", "seg"}
    missing = client.get("/api/collections/demo/experiments/nope/")
    assert missing.status_code == 404
    fits(schema, "BossError", missing.json())
    cache.clear()
