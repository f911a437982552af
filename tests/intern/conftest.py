"""Run intern's own integration tests (shipped in the intern wheel, intern/remote/boss/tests/int_test_*_v1.py)
against a devboss of their own: they create and delete collections, frames, experiments, channels, metadata
and voxels, so the shared session devboss and its demo data stay untouched.

test_intern_suites.py imports their TestCase classes from site-packages (nothing of them is copied here); this
file adapts, at run time, what is outdated in them:

* they build `BossRemote('test.cfg', 'v1')`: a config file in the working directory. `test.cfg` is answered
  with this devboss's address and the admin's token (intern's tests need a user who may create resources);
* they call `CoordinateFrameResource(..., 'nanometers', 0, 'nanoseconds')`, the signature of older intern
  versions (the frame once had time fields); intern 1.4.2 takes `creator` and `raw` there and fails on the
  string. The two extra arguments are dropped.
"""
import pytest
from intern.remote.boss import BossRemote
from intern.resource.boss.resource import CoordinateFrameResource

from devboss import procs
from devboss.testing import start_devboss

CONFIG_FILE = "test.cfg"


@pytest.fixture(scope="session")
def intern_devboss(tmp_path_factory):
    server = start_devboss(tmp_path_factory.mktemp("devboss-intern"))
    yield server
    procs.stop(server.proc)


def _old_frame_signature(original):
    def init(self, name, description="", *args, **kwargs):
        # intern < 1.0: (..., voxel_unit, time_step, time_step_unit); 1.4.2: (..., voxel_unit, creator, raw).
        if len(args) == 12 and isinstance(args[11], str):
            args = args[:10]
        return original(self, name, description, *args, **kwargs)

    return init


def _config_for(server, original):
    def init(self, cfg_file_or_dict=None, version=None):
        if cfg_file_or_dict == CONFIG_FILE:
            cfg_file_or_dict = {"protocol": "http", "host": f"127.0.0.1:{server.port}", "token": server.token("admin")}
        return original(self, cfg_file_or_dict, version)

    return init


@pytest.fixture(scope="module", autouse=True)
def intern_test_setup(intern_devboss):
    """Active before the TestCases' setUpClass (module scope comes first) and undone after the module."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(CoordinateFrameResource, "__init__", _old_frame_signature(CoordinateFrameResource.__init__))
        patch.setattr(BossRemote, "__init__", _config_for(intern_devboss, BossRemote.__init__))
        yield


# Tests that expect what the real BOSS no longer does either (checked in jhuapl-boss/boss at db9628b).
OUTDATED = {
    "test_create_annotation_channel_without_source_fails":
        "BOSS accepts annotation channels without source channels (bosscore/views/views_resource.py "
        "ChannelDetail.post validates sources only if given); devboss does the same",
}


def pytest_collection_modifyitems(items):
    for item in items:
        reason = OUTDATED.get(item.name) if "tests/intern/" in item.nodeid else None
        if reason:
            item.add_marker(pytest.mark.skip(reason=f"outdated in intern 1.4.2: {reason}"))
