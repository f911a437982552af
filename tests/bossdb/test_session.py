"""bossdb.Session with a fake transport: the auth header, the one error table, retries, renew and slot."""
import contextlib

import pytest
import requests

import bossdb
from bossdb import Credential, Retry, Session, errors
from tests.bossdb.fake import TIMEOUT, Answer, FakeBoss

COLLECTION = {"name": "demo", "description": "d", "creator": "admin", "public": True, "experiments": ["e"]}


def session(routes, **kwargs):
    fake = FakeBoss(routes)
    return Session("http://boss.test/", Credential("Token", "secret"), transport=fake,
                   retry=kwargs.pop("retry", Retry(2, 0)), **kwargs), fake


def test_it_sends_the_credential_and_the_timeouts():
    s, fake = session({"collection/demo": Answer(body=COLLECTION)}, connect_timeout=3, read_timeout=7)
    assert bossdb.get_collection(s, "demo").description == "d"
    route, headers, _, timeout = fake.sent[0]
    assert route == "collection/demo" and headers["Authorization"] == "Token secret" and timeout == (3, 7)


def test_the_credential_never_prints():
    assert "secret" not in repr(Credential("Token", "secret")) and "secret" not in repr(session({})[0])


@pytest.mark.parametrize("status, error", [
    (400, errors.BossBadRequest), (401, errors.BossForbidden), (403, errors.BossForbidden),
    (404, errors.BossNotFound), (406, errors.BossBadRequest), (409, errors.BossBadRequest),
    (413, errors.BossBadRequest), (429, errors.BossThrottled), (500, errors.BossUnavailable),
    (502, errors.BossUnavailable), (503, errors.BossUnavailable), (504, errors.BossTimeout),
])
def test_one_table_maps_every_status(status, error):
    s, _ = session({"collection/demo": Answer(status, {"status": status, "code": 3004, "message": "nope"})})
    with pytest.raises(error) as caught:
        bossdb.get_collection(s, "demo")
    assert type(caught.value) is error and caught.value.boss_status == status


def test_metadata_errors_name_the_resource_and_boss_s_message_is_kept_when_asked():
    answer = Answer(404, {"status": 404, "code": 4000, "message": "Collection demo not found"})
    with pytest.raises(errors.BossNotFound, match="Collection demo does not exist"):
        bossdb.get_collection(session({"collection/demo": answer})[0], "demo")
    s, _ = session({"collection/demo": answer}, describe=False)
    with pytest.raises(errors.BossNotFound, match="Collection demo not found"):
        bossdb.get_collection(s, "demo")


def test_throttling_keeps_boss_s_message_and_is_never_retried():
    body = {"status": 429, "code": 3004, "message": "User is throttled. Expected available tomorrow."}
    s, fake = session({"collection/demo": Answer(429, body)})
    with pytest.raises(errors.BossThrottled, match="Expected available tomorrow") as caught:
        bossdb.get_collection(s, "demo")
    assert caught.value.code == 3004 and len(fake.sent) == 1


def test_transient_failures_are_retried_then_reported():
    flaky = [Answer(503, {"message": "busy"}), TIMEOUT, Answer(body=COLLECTION)]
    s, fake = session({"collection/demo": flaky})
    assert bossdb.get_collection(s, "demo").name == "demo" and len(fake.sent) == 3
    s, fake = session({"collection/demo": [requests.ConnectionError("refused")]})
    with pytest.raises(errors.BossUnavailable, match="cannot reach BOSS") as caught:
        bossdb.get_collection(s, "demo")
    assert not isinstance(caught.value, errors.BossTimeout) and len(fake.sent) == 3


def test_an_unreadable_answer_is_unavailable_and_our_own_bugs_are_not_hidden():
    s, _ = session({"collection/": Answer(body={"unexpected": "shape"})})
    with pytest.raises(errors.BossUnavailable, match="unreadable"):
        bossdb.list_collections(s)
    s, _ = session({"collection/demo": Answer(content=b"<html>")})
    with pytest.raises(errors.BossUnavailable):
        bossdb.get_collection(s, "demo")
    s, _ = session({"collection/demo": Answer(body=COLLECTION)})
    with pytest.raises(TypeError):  # a bug of ours (a bad call) is not "BOSS unreachable"
        bossdb.get_collection(s, "demo", "extra")


def test_a_rejected_token_is_renewed_once_and_the_request_sent_again():
    expired = Answer(401, {"message": "Invalid token"})
    renewals = []

    def renew(used):
        renewals.append(used.value)
        return Credential("Bearer", "fresh")

    s, fake = session({"collection/demo": [expired, Answer(body=COLLECTION)]}, renew=renew)
    assert bossdb.get_collection(s, "demo").name == "demo"
    assert renewals == ["secret"] and fake.sent[1][1]["Authorization"] == "Bearer fresh"
    s, fake = session({"collection/demo": [expired]}, renew=renew)
    with pytest.raises(errors.BossForbidden):
        bossdb.get_collection(s, "demo")
    assert len(fake.sent) == 2  # renewed once, not in a loop


def test_each_request_holds_a_slot():
    held = []

    @contextlib.contextmanager
    def slot():
        held.append("in")
        yield
        held.append("out")

    s, _ = session({"collection/demo": Answer(body=COLLECTION)}, slot=slot)
    bossdb.get_collection(s, "demo")
    assert held == ["in", "out"]


def test_a_token_about_to_expire_is_renewed_before_it_is_sent():
    import time

    fresh = Credential("Bearer", "fresh", expires=time.time() + 300)
    fake = FakeBoss({"collection/demo": Answer(body=COLLECTION)})
    s = Session("http://boss.test", Credential("Bearer", "old", expires=time.time() + 5), transport=fake,
                renew=lambda used: fresh, renew_margin=30)
    bossdb.get_collection(s, "demo")
    bossdb.get_collection(s, "demo")
    assert [h["Authorization"] for _, h, _, _ in fake.sent] == ["Bearer fresh", "Bearer fresh"]


def test_a_500_on_a_binary_cutout_renews_a_token_that_may_have_expired_once():
    """The real BOSS answers a bad token on a blosc cutout with 500 text/html, not 401."""
    import time

    import numpy as np

    from tests.bossdb.fake import blosc_answer

    route = "cutout/c/e/em/0/0:1/0:1/0:1/"

    def read(credential):
        fake = FakeBoss({route: [Answer(500, content=b"<html>Server Error</html>"),
                                 blosc_answer(np.zeros((1, 1, 1), dtype=np.uint8))],
                         # the JSON probe: BOSS answers a dead token there with 401
                         "collection/": Answer(401, {"detail": "Invalid token."})})
        s = Session("http://boss.test", credential, transport=fake,
                    renew=lambda used: Credential("Bearer", "fresh"), retry=Retry(0, 0))
        return bossdb.read_cutout(s, "c", "e", "em", "uint8", 0, (0, 1), (0, 1), (0, 1)), fake

    data, fake = read(Credential("Bearer", "opaque"))  # expiry unknown: it may be the token
    assert data.shape == (1, 1, 1) and fake.sent[-1][1]["Authorization"] == "Bearer fresh"
    with pytest.raises(errors.BossUnavailable):  # a token good for an hour: a real server error
        read(Credential("Bearer", "valid", expires=time.time() + 3600))
