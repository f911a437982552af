"""Production settings: `check --deploy` passes without PORTAL_DEV, and every page carries a strict CSP."""
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


def test_check_deploy_passes_with_production_environment(tmp_path):
    result = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    env = production_env(tmp_path)
    del env["SECRET_KEY"]
    result = manage(env, "check")
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


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
