"""Zarr links: made, listed, re-dated and revoked by their owner (page and API); refused when revoked,
expired, out of scope, or when the owner can't read the data or has no login left."""
import re
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from tests.jobs import password_grant
from tests.zarrview.conftest import make_link
from zarrview.models import ZarrLink

pytestmark = pytest.mark.django_db(transaction=True)
EM = "alice_lab/private_exp/em.ome.zarr/.zattrs"


def attrs(site, secret, path=EM):
    return requests.get(f"{site}/zarr/{secret}/{path}", timeout=30)


def bearer(devboss, user):
    return {"Authorization": f"Bearer {password_grant(devboss, user)['access_token']}"}


def test_the_api_makes_lists_redates_and_revokes_links_of_their_owner_only(site, devboss, alice, bob):
    api = f"{site}/api/zarr-links/"
    made = requests.post(api, json={"name": "for napari", "scope": "alice_lab", "expires_in_days": 7},
                         headers=bearer(devboss, "alice"), timeout=30)
    assert made.status_code == 201, made.text
    body = made.json()
    secret, pk = body["secret"], body["id"]
    assert body["url_template"] == f"{site}/zarr/{secret}/<collection>/<experiment>/<channel>.ome.zarr/"
    assert body["state"] == "active" and body["prefix"] == secret[:6] and len(secret) >= 43
    assert attrs(site, secret).status_code == 200
    listed = requests.get(api, headers=bearer(devboss, "alice"), timeout=30).json()
    assert [link["name"] for link in listed] == ["for napari"] and "secret" not in listed[0]
    assert ZarrLink.objects.get(pk=pk).key_hash != secret  # stored hashed
    # bob sees none of it and can't revoke it
    assert requests.get(api, headers=bearer(devboss, "bob"), timeout=30).json() == []
    assert requests.delete(f"{api}{pk}/", headers=bearer(devboss, "bob"), timeout=30).status_code == 404
    assert requests.get(api, timeout=30).status_code in (401, 403)
    patched = requests.patch(f"{api}{pk}/", json={"name": "renamed", "expires_in_days": None},
                             headers=bearer(devboss, "alice"), timeout=30).json()
    assert patched["name"] == "renamed" and patched["expires"] is None
    bad = requests.post(api, json={"name": " ", "scope": "a/b/c", "expires_in_days": 0},
                        headers=bearer(devboss, "alice"), timeout=30)
    assert bad.status_code == 400 and set(bad.json()) == {"name", "scope", "expires_in_days"}
    assert requests.delete(f"{api}{pk}/", headers=bearer(devboss, "alice"), timeout=30).status_code == 204
    refused = attrs(site, secret)
    assert refused.status_code == 403 and refused.json()["error"] == "This Zarr link was revoked."
    schema = requests.get(f"{site}/api/schema/", timeout=30).text
    assert "/api/zarr-links/" in schema and "zarr_url" in schema


def test_expired_unknown_and_out_of_scope_links_are_refused_never_404(site, alice):
    link, secret = make_link(alice, scope="alice_lab/private_exp")
    assert attrs(site, secret).status_code == 200
    assert attrs(site, secret, "demo/cortex/em.ome.zarr/.zattrs").status_code == 403  # out of its scope
    ZarrLink.objects.filter(pk=link.pk).update(expires=timezone.now() - timedelta(seconds=1))
    expired = attrs(site, secret, "alice_lab/private_exp/em.ome.zarr/0/0/0/0")
    assert expired.status_code == 403 and "expired" in expired.json()["error"]
    assert attrs(site, "x" * 43).status_code == 403  # unknown: 403, never the 404 a reader fills with zeros
    assert expired.headers["Access-Control-Allow-Origin"] == "*"


def test_a_link_reads_only_what_its_owner_can_read_now(site, alice, bob):
    _, secret = make_link(bob)
    assert attrs(site, secret, "bob_lab/bob_exp/em.ome.zarr/.zattrs").status_code == 200
    assert attrs(site, secret).status_code == 403  # alice's experiment, through bob's link
    from allauth.socialaccount.models import SocialToken

    SocialToken.objects.filter(account__user=bob).delete()  # bob logged out: no identity left to read with
    from django.core.cache import cache

    cache.clear()
    gone = attrs(site, secret, "bob_lab/bob_exp/em.ome.zarr/0/0/0/0")
    assert gone.status_code == 401 and "log in to the portal again" in gone.json()["error"]


def test_the_account_page_makes_and_revokes_links(site, alice, client):
    client.force_login(alice)
    page = client.post("/account/zarr-links/", {"name": "lab share", "scope": "alice_lab", "days": "3"})
    assert page.status_code == 302
    shown = client.get("/account/zarr-links/").content.decode()
    link = ZarrLink.objects.get(owner=alice)
    secret = re.search(r"/zarr/([A-Za-z0-9_-]{40,})/", shown).group(1)
    assert secret.startswith(link.key_prefix) and attrs(site, secret).status_code == 200
    assert "/zarr/" + secret not in client.get("/account/zarr-links/").content.decode()  # shown once only
    assert client.post(f"/account/zarr-links/{link.pk}/revoke").status_code == 302
    assert attrs(site, secret).status_code == 403
    assert client.post("/account/zarr-links/", {"name": "", "days": "x"}).status_code == 400
