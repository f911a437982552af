"""Every /api/ operation of the OpenAPI schema under generated input (schemathesis): the schema's examples, its
coverage cases and random valid and invalid bodies, path, query and header parameters, anonymous and with
alice's real devboss bearer token. No answer is a server error, and each fits what the schema declares (status
code, content type, body).

Random names and ids would only ever meet 404s, so a share of the generated cases is steered at real things:
the demo collections, alice's jobs (one with a file, one in parts, a failed one), bob's job, a valid box.

The app is called in-process over WSGI, on the test database inside a transaction that never commits: the jobs
the fuzzer submits are saved, but their `on_commit` hand-over to Celery never fires, so nothing downloads. The
budget is fixed and generation is derandomized with a fixed seed, so two runs send the same requests.

schemathesis's own pytest plugin (`from_fixture(...).parametrize()`) fails on pytest 9 (it sets
`node._nodeid`), so each operation's Hypothesis test is built with the plugin's builder and run as a subtest.
"""
from collections import Counter
from datetime import timedelta

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation.hypothesis.builder import FeedbackSources
from schemathesis.pytest._test_builder import build_operation_test
from schemathesis.specs.openapi.checks import (
    content_type_conformance, response_schema_conformance, status_code_conformance,
)

from tests.cutouts.conftest import login_token, password_grant

EXAMPLES = 20  # random cases per operation, on top of the schema's examples and coverage cases
CONFIG = {"seed": 14, "generation": {"max-examples": EXAMPLES, "deterministic": True, "mode": "all",
                                     "no-shrink": True, "database": "none"}}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Operations whose schema is not yet complete: only "no server error" is checked there, until it is.
NOT_YET_DECLARED = {"/api/zarr-links/": "zarrview declares its 2xx answers only, not its 400/401/404"}
NAMES = {"collection": ["demo", "alice_lab", "bob_lab"], "experiment": ["cortex", "private_exp", "bob_exp"],
         "n": [1, 2]}
BOX = {"collection": "demo", "experiment": "cortex", "channels": ["em"], "x": [0, 64], "y": [0, 64], "z": [100, 104]}


@pytest.fixture
def api_schema(db, settings, devboss, tmp_path):
    """The portal's own schema, loaded from the app, with BOSS (and its login provider) at the session devboss.

    Django's WSGI handler closes the database connection after each request; the test client stops that (the
    test's transaction lives on that connection), so we do as it does."""
    from django.core.cache import cache

    settings.BOSS_URL = settings.BOSS_PUBLIC_URL = devboss.url
    settings.OIDC_SERVER_URL = f"{devboss.url}/auth/realms/BOSS"
    settings.CUTOUT_RESULTS_DIR = tmp_path
    cache.clear()
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/?format=json", WSGIHandler(),
                                             config=schemathesis.Config.from_dict(CONFIG))
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
        cache.clear()


def make_job(owner, **fields):
    """A job row of `owner` on demo/cortex; `files` ({name: bytes}) are written where its results go."""
    from cutouts import storage
    from cutouts.models import CutoutJob

    files = fields.pop("files", {})
    job = CutoutJob.objects.create(owner=owner, collection="demo", experiment="cortex", channels=["em"],
                                   resolution=0, x0=0, x1=64, y0=0, y1=64, z0=100, z1=132, **fields)
    for name, data in files.items():
        path = storage.local_path(job, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return job


@pytest.fixture
def jobs(db, api_schema):
    """Jobs of alice (done with a file, done in two parts, failed, queued) and one of bob's: {name: job}."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    users = get_user_model().objects
    alice, bob = users.create_user("alice", email="alice@example.org"), users.create_user("bob")
    now, later = timezone.now(), timezone.now() + timedelta(days=7)
    done = dict(state="done", started=now, finished=now, expires=later, attempts=1,
                meta={"channels": {"em": {"datatype": "uint8", "type": "image"}}})
    parts = [{"n": n, "name": f"box.part{n}.tif", "size": 1600, "z": [100 + 16 * (n - 1), 116 + 16 * (n - 1)]}
             for n in (1, 2)]
    return {"alice": alice,
            "file": make_job(alice, result_name="box.tif", result_size=4096, files={"box.tif": bytes(4096)}, **done),
            "parts": make_job(alice, split=True, result_name="box.zip", result_size=3200, parts=parts,
                              files={p["name"]: bytes(1600) for p in parts}, **done),
            "failed": make_job(alice, state="failed", error="BOSS said no"),
            "queued": make_job(alice),
            "bobs": make_job(bob, result_name="box.tif", result_size=4096, files={"box.tif": bytes(4096)}, **done)}


def steer(schema, jobs):
    """Hooks on this schema (not global ones) that replace some generated path parameters and bodies by real
    names, job ids and a valid box, so that cases reach past the 404s and the first field checks."""
    choices = {**NAMES, "job_id": [str(job.pk) for job in jobs.values() if hasattr(job, "state")]}

    def flatmap_path_parameters(context, parameters):
        if not parameters:
            return st.just(parameters)
        return st.fixed_dictionaries({name: st.sampled_from([value, *choices.get(name, [])])
                                      for name, value in parameters.items()})

    def flatmap_body(context, body):
        if context.operation.label != "POST /api/cutouts/" or not isinstance(body, dict):
            return st.just(body)
        names = {k: BOX[k] for k in ("collection", "experiment", "channels")}
        return st.sampled_from([body, {**body, **names}, {**body, **BOX}])

    schema.hook(flatmap_path_parameters)
    schema.hook(flatmap_body)


def fuzz_every_operation(schema, subtests, headers=None):
    """Run each operation's generated cases, one subtest per operation. Returns Counter({(operation, status)})."""
    seen = Counter()

    def check(case):
        lax = case.operation.path.startswith(tuple(NOT_YET_DECLARED))
        response = case.call_and_validate(headers=headers, checks=[not_a_server_error] if lax else CHECKS)
        seen[(case.operation.label, response.status_code)] += 1

    # DELETEs last: they remove the jobs that the other operations' cases are steered at.
    for operation in sorted((result.ok() for result in schema.get_all_operations()),
                            key=lambda operation: operation.method.upper() == "DELETE"):
        test = build_operation_test(config=schema.config, operation=operation, test_func=check, given_kwargs={},
                                    feedback=FeedbackSources())
        with subtests.test(msg=operation.label):
            test()
    return seen


def operations(seen):
    return {label for label, _ in seen}


def test_anonymous_callers_never_get_a_server_error(api_schema, jobs, subtests):
    steer(api_schema, jobs)
    seen = fuzz_every_operation(api_schema, subtests)
    assert len(operations(seen)) == len(list(api_schema.get_all_operations())) >= 11
    assert seen[("GET /api/collections/", 200)] and seen[("POST /api/cutouts/", 401)]
    assert not any(status == 200 for label, status in seen if label.startswith("GET /api/cutouts/"))


def test_alice_with_a_bearer_token_never_gets_a_server_error(api_schema, jobs, devboss, subtests):
    from cutouts.models import CutoutJob

    login_token(jobs["alice"], devboss, "alice")  # her portal account, as after one browser login
    steer(api_schema, jobs)
    token = password_grant(devboss, "alice")["access_token"]
    seen = fuzz_every_operation(api_schema, subtests, {"Authorization": f"Bearer {token}"})
    assert len(operations(seen)) >= 11
    # The steered cases got through: her jobs read, her files downloaded, some boxes queued (never run).
    assert seen[("GET /api/cutouts/{job_id}/", 200)] and seen[("GET /api/cutouts/{job_id}/download", 200)]
    assert seen[("POST /api/cutouts/", 202)] and seen[("GET /api/cutouts/{job_id}/parts/{n}", 200)]
    submitted = CutoutJob.objects.filter(owner=jobs["alice"]).exclude(pk__in=[job.pk for job in jobs.values()
                                                                              if hasattr(job, "state")])
    assert submitted and all(job.attempts == 0 and job.started is None for job in submitted)
    assert CutoutJob.objects.get(pk=jobs["bobs"].pk).state == "done"  # bob's job: untouched
