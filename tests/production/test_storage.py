"""Results through Django's storage API: local disk (a rename out of the scratch folder, ranged downloads)
or an S3-compatible bucket (moto's in-memory S3: signed, expiring download URLs; expiry deletes)."""
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import boto3
import pytest
import tifffile
from django.utils import timezone
from moto import mock_aws

REPO = Path(__file__).resolve().parents[2]
BOX = {"collection": "demo", "experiment": "cortex", "channels": ["em"], "resolution": 0,
       "x": [0, 300], "y": [0, 300], "z": [100, 110]}


def run_job(user):
    from cutouts import engine, validation
    from cutouts.models import CutoutJob

    job = validation.validate(user, BOX)
    job.save()
    assert job.start("test")
    engine.run(job)
    return CutoutJob.objects.get(pk=job.pk)


@pytest.fixture
def bucket(settings, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="portal-results")
        options = {**settings.CUTOUT_S3, "bucket_name": "portal-results", "region_name": "us-east-1",
                   "access_key": "testing", "secret_key": "testing", "endpoint_url": None,
                   "location": "cutouts", "querystring_expire": 600}
        # What CUTOUT_STORAGE=s3 puts in STORAGES (portal/settings.py), with the test's bucket.
        settings.STORAGES = {**settings.STORAGES,
                             "results": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}}
        yield boto3.client("s3", region_name="us-east-1")


def keys(s3):
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket="portal-results").get("Contents", []))


def test_local_results_need_no_boto3(tmp_path):
    """django-storages[s3] is an extra: with CUTOUT_STORAGE=local nothing imports it, or boto3."""
    code = ("import sys; sys.modules['boto3'] = sys.modules['storages'] = None; import django; django.setup(); "
            "from django.core import checks; from cutouts import storage; s = storage.results_storage(); "
            "print(type(s).__name__, s.location, [m.id for m in checks.run_checks() if m.id.startswith('cutouts.')])")
    env = {**os.environ, "PORTAL_DEV": "1", "PORTAL_VAR_DIR": str(tmp_path), "CUTOUT_STORAGE": "local",
           "CUTOUT_RESULTS_DIR": str(tmp_path / "results"), "DJANGO_SETTINGS_MODULE": "portal.settings"}
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["ResultsFileSystemStorage", str(tmp_path / "results"), "[]"]


def test_a_finished_cutout_is_moved_not_copied_into_local_storage(alice, settings, tmp_path):
    from cutouts import storage

    settings.CUTOUT_RESULTS_DIR = tmp_path / "results"
    job = run_job(alice)
    assert job.state == "done", job.error
    assert job.result_path == tmp_path / "results" / str(job.pk) / job.result_name
    assert sorted(os.listdir(job.folder)) == sorted([job.result_name, "provenance.json"])
    assert not storage.scratch_folder(job).exists()

    scratch = storage.scratch_folder(job)
    scratch.mkdir(parents=True)
    (scratch / "x.tif").write_bytes(b"data")
    inode = os.stat(scratch / "x.tif").st_ino
    storage.publish(job, scratch / "x.tif", "x.tif")
    assert os.stat(job.folder / "x.tif").st_ino == inode  # a rename


def test_local_results_download_with_ranges_and_expire_from_disk(client, alice, settings, tmp_path):
    from cutouts import upkeep

    settings.CUTOUT_RESULTS_DIR = tmp_path / "results"
    job = run_job(alice)
    client.force_login(alice)
    response = client.get(f"/cutouts/{job.pk}/download", HTTP_RANGE="bytes=0-9")
    assert response.status_code == 206
    job.expires = timezone.now() - timedelta(seconds=1)
    job.save()
    assert upkeep.expire_results() == 1
    assert not job.folder.exists()
    assert client.get(f"/cutouts/{job.pk}/download").status_code == 404


def test_with_a_bucket_results_upload_and_download_by_a_signed_expiring_url(client, alice, bucket, settings):
    job = run_job(alice)
    assert job.state == "done", job.error
    assert keys(bucket) == sorted([f"cutouts/{job.pk}/{job.result_name}", f"cutouts/{job.pk}/provenance.json"])
    assert not (settings.CUTOUT_RESULTS_DIR / str(job.pk)).exists()  # nothing left on the worker's disk

    client.force_login(alice)
    for url, name in ((f"/cutouts/{job.pk}/download", job.result_name),
                      (f"/api/cutouts/{job.pk}/download", job.result_name),
                      (f"/cutouts/{job.pk}/provenance.json", "provenance.json")):
        response = client.get(url)
        assert response.status_code == 302, url
        target = urlparse(response["Location"])
        query = parse_qs(target.query)
        assert target.path.endswith(f"/cutouts/{job.pk}/{name}")
        assert query["X-Amz-Expires"] == ["600"] and "X-Amz-Signature" in query
        assert "attachment" in query["response-content-disposition"][0]

    body = bucket.get_object(Bucket="portal-results", Key=f"cutouts/{job.pk}/{job.result_name}")["Body"]
    data = tifffile.imread(__import__("io").BytesIO(body.read()))
    assert data.shape == (10, 300, 300)
    assert job.result_size == bucket.head_object(Bucket="portal-results",
                                                 Key=f"cutouts/{job.pk}/{job.result_name}")["ContentLength"]


def test_with_a_bucket_expiry_deletes_the_objects(client, alice, bucket):
    from cutouts import upkeep

    job = run_job(alice)
    other = run_job(alice)
    job.expires = timezone.now() - timedelta(seconds=1)
    job.save()
    assert upkeep.expire_results() == 1
    assert keys(bucket) == sorted([f"cutouts/{other.pk}/{other.result_name}", f"cutouts/{other.pk}/provenance.json"])
    client.force_login(alice)
    assert client.get(f"/api/cutouts/{job.pk}/download").status_code == 409
