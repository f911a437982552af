"""Notices when a job ends (cutouts/notify.py): a mail only where e-mail is configured explicitly, with an
absolute link from SITE_URL; a mail server that fails is one warning line, never a traceback, never a failed job;
and the notice on the owner's next page, once."""
import logging
import os
import subprocess
import sys

import pytest
from django.core import mail
from django.utils import timezone

from cutouts import engine, notify
from cutouts.models import CutoutJob
from cutouts.validation import validate
from devboss import procs

BOX = {"collection": "demo", "experiment": "cortex", "channels": ["em"], "resolution": 0,
       "x": [0, 100], "y": [0, 100], "z": [100, 110]}


@pytest.fixture
def mail_on(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.CUTOUT_NOTIFY_EMAIL = True
    settings.SITE_URL = "https://portal.example.org"
    settings.DEFAULT_FROM_EMAIL = "BOSS portal <noreply@portal.example.org>"
    return settings


def ended(user, state=CutoutJob.DONE, **fields):
    job = validate(user, {**BOX, "name": fields.pop("name", "")})
    job.save()
    CutoutJob.objects.filter(pk=job.pk).update(state=state, finished=timezone.now(), **fields)
    job.refresh_from_db()
    return job


def settings_value(name, **env):
    """`name` as portal/settings.py reads it from an environment holding `env` (and no EMAIL_HOST of ours)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("EMAIL_", "CUTOUT_NOTIFY"))}
    code = f"from django.conf import settings; print(repr(settings.{name}))"
    out = subprocess.run([sys.executable, "-c", code], cwd=procs.REPO, capture_output=True, text=True, timeout=60,
                         env={**clean, "DJANGO_SETTINGS_MODULE": "tests.settings", **env})
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_mail_is_on_only_where_configured_explicitly():
    assert settings_value("EMAIL_HOST") == "'localhost'"  # Django's default...
    assert settings_value("CUTOUT_NOTIFY_EMAIL") == "False"  # ...is no sign that mail works
    assert settings_value("CUTOUT_NOTIFY_EMAIL", EMAIL_HOST="smtp.example.org") == "True"
    assert settings_value("CUTOUT_NOTIFY_EMAIL", CUTOUT_NOTIFY_EMAIL="1") == "True"
    assert settings_value("CUTOUT_NOTIFY_EMAIL", EMAIL_HOST="smtp.example.org", CUTOUT_NOTIFY_EMAIL="0") == "False"


def test_no_mail_unless_configured(alice, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.EMAIL_HOST = "localhost"
    settings.CUTOUT_NOTIFY_EMAIL = False
    assert notify.email_owner(ended(alice)) is False
    assert mail.outbox == []


def test_a_finished_job_mails_its_owner_an_absolute_link(alice, mail_on):
    job = ended(alice, name="dendrites")
    assert notify.email_owner(job) is True
    (message,) = mail.outbox
    assert message.to == ["alice@example.org"]
    assert message.from_email == "BOSS portal <noreply@portal.example.org>"
    assert message.subject == "BOSS portal: cutout done"
    assert message.body == ("Your cutout of “dendrites”, demo/cortex (em, level 0) is ready to download.\n\n"
                            f"https://portal.example.org/cutouts/{job.pk}/\n")


def test_a_failed_job_mails_the_reason(alice, mail_on):
    mail_on.SITE_URL = "https://portal.example.org/"  # a trailing slash makes no double slash
    job = ended(alice, CutoutJob.FAILED, error="BOSS answered 503")
    assert notify.email_owner(job) is True
    assert mail.outbox[0].subject == "BOSS portal: cutout failed"
    assert mail.outbox[0].body == ("Your cutout of demo/cortex (em, level 0) failed: BOSS answered 503\n\n"
                                   f"https://portal.example.org/cutouts/{job.pk}/\n")


def test_no_mail_for_a_cancelled_job_nor_an_owner_without_address(alice, mail_on):
    assert notify.email_owner(ended(alice, CutoutJob.CANCELLED)) is False
    alice.email = ""
    alice.save()
    assert notify.email_owner(ended(alice)) is False
    assert mail.outbox == []


def test_without_site_url_the_mail_still_goes_and_the_log_says_why_the_link_is_a_path(alice, mail_on, caplog):
    mail_on.SITE_URL = ""
    job = ended(alice)
    with caplog.at_level(logging.WARNING, logger="cutouts.notify"):
        assert notify.email_owner(job) is True
    assert mail.outbox[0].body.endswith(f"\n\n/cutouts/{job.pk}/\n")
    assert [r.getMessage() for r in caplog.records] == [
        f"e-mail notices are on but SITE_URL is not set: the mail for job {job.pk} links a bare path"]


def smtp_down(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", procs.free_port()  # nothing listens there
    settings.EMAIL_TIMEOUT = 5


def test_a_mail_server_that_refuses_is_one_warning_line(alice, mail_on, caplog):
    smtp_down(mail_on)
    job = ended(alice)
    with caplog.at_level(logging.DEBUG):
        assert notify.email_owner(job) is False
    (record,) = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert record.name == "cutouts.notify" and record.levelno == logging.WARNING
    assert record.getMessage().startswith(f"could not e-mail the owner of job {job.pk}: ConnectionRefusedError")
    assert record.exc_info is None and "\n" not in record.getMessage()
    job.refresh_from_db()
    assert job.state == CutoutJob.DONE


def test_a_job_run_with_the_mail_server_down_ends_done(alice, mail_on, caplog, capfd):
    """The engine itself, in this process (no worker): the job finishes, the mail fails, the job stays done."""
    smtp_down(mail_on)
    job = validate(alice, BOX)
    job.save()
    assert job.start("test")
    with caplog.at_level(logging.INFO):
        engine.run(job)
    job.refresh_from_db()
    assert job.state == CutoutJob.DONE, job.error
    assert job.result_path.stat().st_size > 0
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.name for r in warnings] == ["cutouts.notify"]
    assert all(r.exc_info is None for r in caplog.records)
    assert "Traceback" not in capfd.readouterr().err


def test_the_notice_shows_on_the_next_page_once(client, alice):
    done = ended(alice, name="dendrites")
    failed = ended(alice, CutoutJob.FAILED, error="BOSS answered 503")
    client.force_login(alice)
    page = client.get("/cutouts/").content.decode()
    assert "Your cutout of “dendrites”, demo/cortex (em, level 0) is ready to download." in page
    assert "Your cutout of demo/cortex (em, level 0) failed: BOSS answered 503" in page
    assert "ready to download" not in client.get("/cutouts/").content.decode()
    assert CutoutJob.objects.filter(pk__in=[done.pk, failed.pk], notified=True).count() == 2
