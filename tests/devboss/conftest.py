"""A devboss for the devboss tests that write (new resources, loaded volumes), so that the session's devboss
stays as seeded. One for the package: test_resources writes resources of its own names, test_cutout loads
volumes into a collection of its own ("loaded"), and neither lists what the other made."""
import pytest

from devboss import procs
from devboss.testing import start_devboss


@pytest.fixture(scope="package")
def writable_devboss(tmp_path_factory):
    server = start_devboss(tmp_path_factory.mktemp("devboss-writes"))
    yield server
    procs.stop(server.proc)
