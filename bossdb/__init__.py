"""bossdb: a small, Django-free client of the BOSS REST API (bossdb.io) used by the portal and `boss-cutout`.

- session.py: Session (base URL, credential, timeouts, one retry policy, renew and slot hooks), Credential,
  BodyRoom (bounds the bytes of the answers held at once)
- errors.py: the errors every call raises, and the one HTTP status -> error table
- resources.py: typed results (Collection, Experiment, CoordFrame, Channel, Level)
- api.py: one function per endpoint (metadata, downsample levels, cutout read, ids, bounding box, ping)
- geometry.py: boxes, blocks, cuboids, level scales and bounds, calibration, datatype sizes
"""
from bossdb.api import (  # noqa: F401
    bounding_box, get_channel, get_collection, get_coord_frame, get_experiment, get_levels, ids_in_box,
    list_channels, list_collections, list_experiments, ping, read_cutout,
)
from bossdb.errors import (  # noqa: F401
    BossBadRequest, BossError, BossForbidden, BossNotFound, BossThrottled, BossTimeout, BossUnavailable,
    LoginRequired,
)
from bossdb.resources import Channel, Collection, CoordFrame, Experiment, Level  # noqa: F401
from bossdb.session import BodyRoom, Credential, Retry, Session  # noqa: F401
