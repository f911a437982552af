"""intern 1.4.2's own integration suites against devboss (their set-up is adapted in conftest.py).

Run: project (collections, frames, experiments, channels), metadata, volume (cutout writes and reads,
to_black, filters, ids, bounding boxes, reserve). Not run (README "intern's integration tests"): the group,
permission, user and user-role suites, whose /v1/groups, /v1/permissions and /v1/sso routes devboss does not
serve.
"""
from intern.remote.boss.tests.int_test_metadata_v1 import MetadataServiceTest_v1 as TestMetadataService
from intern.remote.boss.tests.int_test_project_v1 import ProjectServiceTest_v1 as TestProjectService
from intern.remote.boss.tests.int_test_volume_v1 import VolumeServiceTest_v1 as TestVolumeService

__all__ = ["TestMetadataService", "TestProjectService", "TestVolumeService"]
