"""LoginRequired from any view: pages redirect to the login page with a message, the API answers 401 JSON."""
import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages

from portal.boss.credentials import credential_for
from bossdb.errors import LoginRequired

pytestmark = pytest.mark.django_db


@pytest.fixture
def raising_urls(settings):
    settings.ROOT_URLCONF = "tests.auth.urls"


def test_a_page_redirects_to_login_and_logs_out(raising_urls, client):
    # A logged-in user with no stored token (as after a failed refresh) can't reach BOSS.
    client.force_login(get_user_model().objects.create_user("carol"))
    response = client.get("/boss-check/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/boss-check/"
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Please log in again to reach BOSS."]
    assert "_auth_user_id" not in client.session


def test_the_api_answers_401_json(client, settings):
    from django.urls import path

    def api_view(request):
        raise LoginRequired("Your BOSS session has ended; please log in again.")

    import tests.auth.urls as urls

    settings.ROOT_URLCONF = type("U", (), {"urlpatterns": [path("api/boom/", api_view), *urls.urlpatterns]})
    response = client.get("/api/boom/")
    assert response.status_code == 401
    assert response.json() == {"detail": "Your BOSS session has ended; please log in again."}


def test_anonymous_visitors_get_the_public_token(settings):
    settings.BOSS_PUBLIC_TOKEN = "public"
    assert credential_for(None).value == "public"
    assert "public" not in repr(credential_for(None))
