"""Production settings: `check --deploy` passes without PORTAL_DEV, bad configuration fails the system checks,
and every page carries a strict CSP."""
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def production_env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTAL_", "DJANGO_", "DEBUG"))}
    env.update({
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "portal.example.org",
        "CSRF_TRUSTED_ORIGINS": "https://portal.example.org",
        "PORTAL_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        **extra,
    })
    return env


def manage(env, *args):
    return subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120)


def run_checks(env):
    """Django's system checks in a process of their own; the portal's and cutouts' messages, one a line."""
    code = ("import django; django.setup(); from django.core import checks; "
            "[print(f'({m.id}) {m.msg}') for m in checks.run_checks() if m.id.startswith(('portal.', 'cutouts.'))]")
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)


def test_check_deploy_passes_with_production_environment(tmp_path):
    result = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    env = production_env(tmp_path)
    del env["SECRET_KEY"]
    result = manage(env, "check")
    assert result.returncode != 0
    assert "(portal.E001) SECRET_KEY is required" in result.stderr


def test_development_has_a_secret_key_of_its_own(tmp_path):
    env = production_env(tmp_path, PORTAL_DEV="1")
    del env["SECRET_KEY"]
    result = run_checks(env)
    assert result.returncode == 0, result.stderr
    assert "portal.E001" not in result.stdout


@pytest.mark.parametrize("extra, message", [
    ({"CUTOUT_STORAGE": "S3"}, "(cutouts.E001) CUTOUT_STORAGE must be local or s3, not 'S3'."),
    ({"CUTOUT_STORAGE": "s3"}, "(cutouts.E002) CUTOUT_STORAGE=s3 needs AWS_STORAGE_BUCKET_NAME."),
])
def test_a_bad_results_storage_is_a_system_check_error(tmp_path, extra, message):
    result = run_checks(production_env(tmp_path, **extra))
    assert result.returncode == 0, result.stderr  # the settings still load: the check reports the problem
    assert message in result.stdout


def test_a_bucket_with_a_name_passes_the_checks(tmp_path):
    result = run_checks(production_env(tmp_path, CUTOUT_STORAGE="s3", AWS_STORAGE_BUCKET_NAME="results"))
    assert result.returncode == 0, result.stderr
    assert "cutouts.E" not in result.stdout


def test_database_url_is_sqlite_or_postgresql():
    from django.core.exceptions import ImproperlyConfigured

    from portal.settings import VAR_DIR, _database

    default = _database("")
    assert default["NAME"] == str(VAR_DIR / "portal.sqlite3") and default["OPTIONS"] == {"timeout": 30}
    assert default["TEST"] == {"NAME": str(VAR_DIR / "test-portal.sqlite3")}  # a file a worker can share
    assert _database("sqlite:////srv/portal.sqlite3")["NAME"] == "/srv/portal.sqlite3"
    assert _database("sqlite:///")["NAME"] == str(VAR_DIR / "portal.sqlite3")
    postgres = _database("postgres://portal:p%40ss@db.example.org:5433/portal")
    assert {k: postgres[k] for k in ("ENGINE", "NAME", "USER", "PASSWORD", "HOST", "PORT", "CONN_MAX_AGE")} == {
        "ENGINE": "django.db.backends.postgresql", "NAME": "portal", "USER": "portal", "PASSWORD": "p@ss",
        "HOST": "db.example.org", "PORT": "5433", "CONN_MAX_AGE": 60,
    }
    assert _database("postgresql://db/portal")["ENGINE"] == "django.db.backends.postgresql"
    with pytest.raises(ImproperlyConfigured, match="scheme 'mysql' is not supported"):
        _database("mysql://portal:secret@db/portal")


def test_production_settings_are_https_only_with_hashed_static_files(tmp_path):
    code = ("from django.conf import settings as s; print(s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, "
            "s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS > 0, s.SECURE_PROXY_SSL_HEADER, "
            "s.STORAGES['staticfiles']['BACKEND'], s.ALLOWED_HOSTS, s.CSRF_TRUSTED_ORIGINS)")
    env = production_env(tmp_path, SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto")
    result = subprocess.run([sys.executable, "-c", f"import django; django.setup(); {code}"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "True", "True", "True", "True", "('HTTP_X_FORWARDED_PROTO',", "'https')",
        "whitenoise.storage.CompressedManifestStaticFilesStorage", "['portal.example.org']",
        "['https://portal.example.org']",
    ]


def test_collectstatic_then_pages_serve_hashed_static_files(tmp_path):
    env = production_env(tmp_path, STATIC_ROOT=str(tmp_path / "static"))
    result = manage(env, "collectstatic", "--noinput", "-v", "0")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "static" / "staticfiles.json").exists()


@pytest.mark.django_db
def test_pages_send_a_strict_content_security_policy(client, settings):
    settings.OIDC_SERVER_URL = "https://auth.example.org/auth/realms/BOSS"
    response = client.get("/accounts/login/")
    policy = dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["form-action"] == "'self' https://auth.example.org"


def test_templates_have_no_inline_scripts_or_styles():
    import re

    offenders = []
    for path in (REPO / "templates").rglob("*.html"):
        text = path.read_text()
        for match in re.finditer(r"<script(?P<attrs>[^>]*)>", text):
            if "src=" not in match["attrs"] and "application/json" not in match["attrs"]:
                offenders.append(f"{path.relative_to(REPO)}: inline <script>")
        if re.search(r"\sstyle=\"|<style|\son[a-z]+=\"", text):
            offenders.append(f"{path.relative_to(REPO)}: inline style or event handler")
    assert offenders == []
