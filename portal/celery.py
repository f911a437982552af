"""The Celery app: broker at CELERY_BROKER_URL (Redis). Workers: `celery -A portal worker`."""
import os
import signal

from celery import Celery
from celery.signals import beat_embedded_init, worker_init, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
@beat_embedded_init.connect
def die_with_the_worker(**_):
    """A pool child (or the beat a `worker -B` runs in a process of its own) dies when the worker's main process does (Linux: PR_SET_PDEATHSIG), instead of living
    on as an orphan holding its job's files and BOSS slots: the reconciler hands its job to another worker
    (acks are late), which resumes it from its finished blocks."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


@worker_process_init.connect
def lean_malloc_in_pool_children(**_):
    """A pool child runs the jobs: its memory kept near what it holds (cutouts.pipeline.memory)."""
    from cutouts.pipeline.memory import lean_malloc

    lean_malloc()


@worker_init.connect
def import_the_writers(**_):
    """The worker's main process imports zarr and every format's writer (cutouts.pipeline.writers loads them
    on use) before it forks its pool: a child's first OME-Zarr job then starts fetching at once, not 0.2-0.3 s
    later (the import), and the children share the modules' pages (~20 MB) instead of each importing its own
    copy."""
    import zarr  # noqa: F401
    from numcodecs import Blosc  # noqa: F401

    from cutouts.pipeline.writers import ctiff, tiff, tiffzip, zarr as zarr_writer, zipstream  # noqa: F401
