"""/healthz: the database, Redis (the broker) and BOSS, each named; 503 when one is down; no secrets."""
import pytest

from devboss import procs
from tests.conftest import start_devboss


@pytest.fixture
def up(settings, devboss, redis_server):
    settings.BOSS_URL = devboss.url
    settings.CELERY_BROKER_URL = redis_server
    return settings


def dead_url():
    return f"redis://127.0.0.1:{procs.free_port()}/0"


@pytest.mark.django_db
def test_it_says_ok_when_everything_answers(client, up):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok", "boss": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_it_names_redis_when_redis_is_down(client, up):
    up.CELERY_BROKER_URL = dead_url()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "failed", "database": "ok", "redis": "failed", "boss": "ok"}


@pytest.mark.django_db
def test_it_names_boss_when_boss_is_down_and_again_ok_when_it_is_back(client, settings, redis_server,
                                                                      tmp_path):
    settings.CELERY_BROKER_URL = redis_server
    server = start_devboss(tmp_path)
    settings.BOSS_URL = server.url
    try:
        assert client.get("/healthz").status_code == 200
        procs.stop(server.proc)
        response = client.get("/healthz")
        assert response.status_code == 503
        assert response.json()["boss"] == "failed"
        assert response.json()["redis"] == "ok"
    finally:
        procs.stop(server.proc)


@pytest.mark.django_db
def test_it_names_the_database_when_the_query_fails(client, up, monkeypatch):
    from portal import health

    def broken():
        raise health.connection.OperationalError("connection refused to db.internal:5432 as portal/s3cret")

    monkeypatch.setitem(health.CHECKS, "database", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "failed"
    assert b"s3cret" not in response.content and b"db.internal" not in response.content


@pytest.mark.django_db
def test_it_needs_no_login_and_leaks_no_urls(client, settings, redis_server):
    settings.CELERY_BROKER_URL = "redis://:hunter2@127.0.0.1:1/0"
    settings.BOSS_URL = "http://127.0.0.1:1"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert b"hunter2" not in response.content and b"127.0.0.1" not in response.content
