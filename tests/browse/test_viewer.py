"""devboss's local Neuroglancer (devboss/viewer): entry redirect, the wheel's client, the event stream."""
import re

import requests


def test_the_entry_redirects_to_the_token_path(devboss):
    for path in ("/viewer/", "/viewer", "/v/"):
        response = requests.get(devboss.url + path, allow_redirects=False, timeout=10)
        assert response.status_code == 302
        assert response.headers["Location"] == "/v/devboss/"


def test_it_serves_the_neuroglancer_client_with_a_quiet_event_source(devboss):
    index = requests.get(devboss.url + "/v/devboss/", timeout=10)
    assert index.status_code == 200 and index.headers["Content-Type"].startswith("text/html")
    assert "window.EventSource = class" in index.text
    main_js = re.search(r'src="(main\.[0-9a-f]+\.js)"', index.text).group(1)
    script = requests.get(f"{devboss.url}/v/devboss/{main_js}", timeout=10)
    assert script.status_code == 200 and "javascript" in script.headers["Content-Type"]
    assert requests.get(devboss.url + "/v/devboss/nope.js", timeout=10).status_code == 404


def test_events_answer_an_empty_event_stream(devboss):
    response = requests.get(devboss.url + "/events/devboss?c=1&gc=", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/event-stream" and response.content == b""
