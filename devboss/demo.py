"""The demo data that `python -m devboss seed` loads, as plain data.

Tests and the other parts of the stack import these names, so they are a contract: the users admin,
alice and bob; the public collection `demo`; the private collections `alice_lab` and `bob_lab`.
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


COORD_FRAMES = [
    # z starts at 100 on purpose: clients must not assume frames start at 0.
    _frame("demo_frame", "admin", (0, 2048), (0, 2048), (100, 228), (4.0, 4.0, 40.0), NM, "Demo cortex frame"),
    _frame("timelapse_frame", "admin", (0, 512), (0, 512), (0, 32), (0.5, 0.5, 2.0), UM, "Demo time-lapse frame"),
    _frame("large_frame", "admin", (0, 4096), (0, 4096), (0, 512), (8.0, 8.0, 40.0), NM, "Demo large frame"),
    _frame("alice_frame", "alice", (0, 1024), (0, 1024), (0, 64), (4.0, 4.0, 40.0), NM),
    _frame("bob_frame", "bob", (0, 512), (0, 512), (0, 16), (4.0, 4.0, 40.0), NM),
]

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
]
