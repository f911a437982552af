"""`python -m devboss seed` and `createtoken` (devboss.demo is the data they load)."""
import json
import shutil

import pytest

from devboss import demo, procs
from devboss.testing import migrated_database


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    var_dir = tmp_path_factory.mktemp("devboss-seed")
    env = {"DEVBOSS_VAR_DIR": str(var_dir), "DEVBOSS_DB": str(var_dir / "db.sqlite3")}
    shutil.copyfile(migrated_database(), env["DEVBOSS_DB"])  # what `migrate` makes, made once per session
    creds = var_dir / "credentials.json"
    first = procs.run_devboss_command(["seed", "--credentials-file", str(creds)], env, capture=True)
    return {"env": env, "creds": creds, "stdout": first.stdout}


def dump(env):
    out = procs.run_devboss_command(["dumpdata", "bossapi", "auth.user", "--indent", "1"], env, capture=True).stdout
    return json.loads(out)


def test_it_writes_every_user_with_password_token_and_email(seeded):
    users = json.loads(seeded["creds"].read_text())["users"]
    assert set(users) == {"admin", "alice", "bob"}
    assert users["alice"]["password"] == "alice-password"
    assert users["alice"]["email"] == "alice@example.org"
    assert len(users["alice"]["token"]) == 40


def test_it_prints_a_table_of_credentials(seeded):
    users = json.loads(seeded["creds"].read_text())["users"]
    for name, cred in users.items():
        assert name in seeded["stdout"] and cred["token"] in seeded["stdout"]


def test_it_is_idempotent_and_keeps_tokens(seeded):
    before = dump(seeded["env"])
    tokens = json.loads(seeded["creds"].read_text())
    procs.run_devboss_command(["seed", "--credentials-file", str(seeded["creds"])], seeded["env"], capture=True)
    assert dump(seeded["env"]) == before
    assert json.loads(seeded["creds"].read_text()) == tokens


def test_it_loads_every_demo_resource(seeded):
    rows = dump(seeded["env"])
    names = {(row["model"], row["fields"]["name"]) for row in rows if "name" in row["fields"]}
    assert {("bossapi.collection", c["name"]) for c in demo.COLLECTIONS} <= names
    assert {("bossapi.coordinateframe", f["name"]) for f in demo.COORD_FRAMES} <= names
    channels = [row for row in rows if row["model"] == "bossapi.channel"]
    expected = sum(len(e["channels"]) for c in demo.COLLECTIONS for e in c["experiments"])
    assert len(channels) == expected == 17  # 8 demo channels and the realboss collection's 9
    statuses = {ch["fields"]["name"] + "@" + str(ch["fields"]["experiment"]): ch["fields"]["downsample_status"]
                for ch in channels}
    assert sum(status != "DOWNSAMPLED" for status in statuses.values()) == 2  # realboss/pending's em and seg


def test_it_gives_admin_staff_rights_and_names_to_alice(seeded):
    users = {row["fields"]["username"]: row["fields"] for row in dump(seeded["env"]) if row["model"] == "auth.user"}
    assert users["admin"]["is_staff"] and not users["alice"]["is_staff"]
    assert (users["alice"]["first_name"], users["alice"]["last_name"]) == ("Alice", "Liddell")
    assert (users["bob"]["first_name"], users["bob"]["last_name"]) == ("Bob", "Builder")


def test_createtoken_prints_the_seeded_token(seeded):
    out = procs.run_devboss_command(["createtoken", "alice"], seeded["env"], capture=True).stdout.strip()
    assert out == json.loads(seeded["creds"].read_text())["users"]["alice"]["token"]


def test_createtoken_creates_a_user_on_request(seeded):
    missing = procs.run_devboss_command(["createtoken", "carol"], seeded["env"], check=False, capture=True)
    assert missing.returncode != 0
    made = procs.run_devboss_command(
        ["createtoken", "carol", "--create-user", "--password", "carol-password"], seeded["env"], capture=True
    )
    token = made.stdout.strip()
    assert len(token) == 40
    again = procs.run_devboss_command(["createtoken", "carol"], seeded["env"], capture=True)
    assert again.stdout.strip() == token


def test_a_port_in_time_wait_counts_as_free_and_a_listening_one_does_not():
    """Restarting `make run` within a minute failed with "port ... is taken" (sockets in TIME_WAIT)."""
    import socket

    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    assert not procs.port_is_free(port)
    accepted.close()  # the server side closes first: its end of the connection waits in TIME_WAIT
    server.close()
    client.close()
    assert procs.port_is_free(port)
