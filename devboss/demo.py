"""The demo data that `python -m devboss seed` loads, as plain data.

Tests and the other parts of the stack import these names, so they are a contract: the users admin,
alice and bob; the public collection `demo`; the private collections `alice_lab` and `bob_lab`; the public
collection `realboss`, one experiment per behaviour of the real BOSS that a portal must survive
(devboss.api.realboss; README.md "Demo data (devboss)").
"""

USERS = [
    {
        "username": "admin", "password": "admin-password", "email": "admin@example.org",
        "first_name": "", "last_name": "", "is_staff": True, "is_superuser": True,
    },
    {
        "username": "alice", "password": "alice-password", "email": "alice@example.org",
        "first_name": "Alice", "last_name": "Liddell", "is_staff": False, "is_superuser": False,
    },
    {
        "username": "bob", "password": "bob-password", "email": "bob@example.org",
        "first_name": "Bob", "last_name": "Builder", "is_staff": False, "is_superuser": False,
    },
]

NM, UM = "nanometers", "micrometers"


def _frame(name, creator, x, y, z, voxel, unit, description=""):
    return {
        "name": name, "creator": creator, "description": description,
        "x_start": x[0], "x_stop": x[1], "y_start": y[0], "y_stop": y[1], "z_start": z[0], "z_stop": z[1],
        "x_voxel_size": voxel[0], "y_voxel_size": voxel[1], "z_voxel_size": voxel[2], "voxel_unit": unit,
    }


def _channel(name, type_, datatype, public, **extra):
    return {
        "name": name, "type": type_, "datatype": datatype, "public": public,
        "downsample_status": "DOWNSAMPLED", "source": "procedural", "sources": [], "description": "", **extra,
    }


def _realboss_frame(name, x=(0, 2048), y=(0, 2048), z=(0, 64), voxel=(4.0, 4.0, 40.0), description=""):
    return _frame(name, "admin", x, y, z, voxel, "nanometers", description)


COORD_FRAMES = [
    # z starts at 100 on purpose: clients must not assume frames start at 0.
    _frame("demo_frame", "admin", (0, 2048), (0, 2048), (100, 228), (4.0, 4.0, 40.0), NM, "Demo cortex frame"),
    _frame("timelapse_frame", "admin", (0, 512), (0, 512), (0, 32), (0.5, 0.5, 2.0), UM, "Demo time-lapse frame"),
    _frame("large_frame", "admin", (0, 4096), (0, 4096), (0, 512), (8.0, 8.0, 40.0), NM, "Demo large frame"),
    _frame("alice_frame", "alice", (0, 1024), (0, 1024), (0, 64), (4.0, 4.0, 40.0), NM),
    _frame("bob_frame", "bob", (0, 512), (0, 512), (0, 16), (4.0, 4.0, 40.0), NM),
    # realboss: frames for the behaviours of the real BOSS.
    _realboss_frame("realboss_frame", description="2048 x 2048 x 64 at 4 x 4 x 40 nm"),
    _realboss_frame("realboss_offset_frame", x=(1000, 3048), y=(600, 2648),
                    description="x and y do not start at 0: BOSS checks every level against these bounds"),
    _realboss_frame("realboss_aniso_frame", x=(0, 1024), y=(0, 1024), z=(0, 32), voxel=(4.0, 6.0, 40.0),
                    description="x voxel != y voxel: BOSS's downsample route refuses it"),
]


def _experiment(name, frame, levels, channels, description, **extra):
    return {
        "name": name, "public": True, "coord_frame": frame, "num_hierarchy_levels": levels,
        "hierarchy_method": "anisotropic", "num_time_samples": 1, "description": description,
        "channels": channels, **extra,
    }


REALBOSS = {
    "name": "realboss", "public": True, "creator": "admin",
    "description": "What the real BOSS does that a friendlier server would forgive, one experiment each",
    "experiments": [
        _experiment("offset", "realboss_offset_frame", 4, [_channel("em", "image", "uint8", True)],
                    "Behaviour 2: ranges are checked against the level-0 frame (x 1000:3048, y 600:2648) at every "
                    "level, so level boxes computed as start/2**r are refused"),
        _experiment("notime", "realboss_frame", 2, [_channel("em", "image", "uint8", True)],
                    "Behaviour 3: time_step and time_step_unit are null", time_step=None, time_step_unit=None),
        _experiment("pending", "realboss_frame", 4, [
            _channel("em", "image", "uint8", True, downsample_status="NOT_DOWNSAMPLED", levels_built=False),
            _channel("seg", "annotation", "uint64", True, downsample_status="NOT_DOWNSAMPLED", levels_built=False,
                     sources=["em"]),
        ], "Behaviour 4: not downsampled yet: em reads zeros above level 0, seg answers 500 off level 0"),
        _experiment("based", "realboss_frame", 4, [_channel("em", "image", "uint8", True, base_resolution=1)],
                    "Behaviour 5: base_resolution 1: cutout levels 1 to 4, the downsample route says 0 to 3"),
        _experiment("aniso", "realboss_aniso_frame", 3, [_channel("em", "image", "uint8", True)],
                    "Behaviour 7: 4 x 6 x 40 nm voxels: the downsample route answers 400 (code 9001)"),
        _experiment("noindex", "realboss_frame", 2, [
            _channel("em", "image", "uint8", True),
            _channel("seg", "annotation", "uint64", True, object_index=False, sources=["em"]),
        ], "Behaviour 8: seg has no object index: ids over whole cuboids is empty, every bounding box 404"),
        _experiment("cloudvol", "realboss_frame", 2, [
            _channel("em", "image", "uint8", True, storage_type="cloudvol", bucket="bossdb-open-data",
                     cv_path="realboss/cloudvol/em"),
        ], "Behaviour 9: a CloudVolume channel: 5 time samples, but every cutout is time sample 0",
            num_time_samples=5, time_step=1, time_step_unit="seconds"),
    ],
}

COLLECTIONS = [
    {
        "name": "demo", "public": True, "creator": "admin",
        "description": "Public demo volumes, generated procedurally",
        "experiments": [
            {
                "name": "cortex", "public": True, "coord_frame": "demo_frame", "num_hierarchy_levels": 4,
                "hierarchy_method": "anisotropic", "num_time_samples": 1,
                "description": "Procedural EM, fluorescence and segmentation",
                "channels": [
                    _channel("em", "image", "uint8", True),
                    _channel("fluo", "image", "uint16", True),
                    _channel("seg", "annotation", "uint64", True, sources=["em"]),
                ],
            },
            {
                "name": "timelapse", "public": True, "coord_frame": "timelapse_frame", "num_hierarchy_levels": 2,
                "hierarchy_method": "anisotropic", "num_time_samples": 10, "time_step": 2,
                "time_step_unit": "seconds", "description": "Procedural calcium imaging, 10 time samples",
                "channels": [_channel("calcium", "image", "uint16", True)],
            },
            {
                "name": "large", "public": True, "coord_frame": "large_frame", "num_hierarchy_levels": 5,
                "hierarchy_method": "anisotropic", "num_time_samples": 1,
                "description": "A large procedural EM volume",
                "channels": [_channel("em", "image", "uint8", True)],
            },
        ],
    },
    {
        "name": "alice_lab", "public": False, "creator": "alice", "description": "Alice's unpublished data",
        "experiments": [
            {
                "name": "private_exp", "public": False, "coord_frame": "alice_frame", "num_hierarchy_levels": 3,
                "hierarchy_method": "anisotropic", "num_time_samples": 1, "description": "",
                "channels": [
                    _channel("em", "image", "uint8", False),
                    _channel("seg", "annotation", "uint64", False),
                ],
            },
        ],
    },
    {
        "name": "bob_lab", "public": False, "creator": "bob", "description": "Bob's unpublished data",
        "experiments": [
            {
                "name": "bob_exp", "public": False, "coord_frame": "bob_frame", "num_hierarchy_levels": 2,
                "hierarchy_method": "anisotropic", "num_time_samples": 1, "description": "",
                "channels": [_channel("em", "image", "uint8", False)],
            },
        ],
    },
    REALBOSS,
]
