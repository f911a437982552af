"""A cutout job and its state machine. The rules live here, so they are testable without Celery.

    queued ──start──▶ running ──finish──▶ done ──expire──▶ expired
       │                 │  └───fail────▶ failed ─┐
       └──cancel──▶ cancelled ◀──cancel──┘         ├─retry──▶ queued
                         └─────────────────────────┘

Transitions are conditional UPDATEs on the current state, so two workers (or a worker and a user
cancelling) can't both win: whoever changes the row first decides.
"""
import uuid
from datetime import timedelta
from math import prod
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import models, transaction
from django.db.models import F
from django.utils import timezone

from bossdb.geometry import DTYPE_BYTES, Box
from cutouts.pipeline import writers
from cutouts.pipeline.spec import ChannelSpec, CutoutSpec

FORMATS = {name: fmt.label for name, fmt in writers.FORMATS.items()}


class CutoutJobQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The jobs `user` may see: their own; staff see all."""
        if not user.is_authenticated:
            return self.none()
        return self if user.is_staff else self.filter(owner=user)


class CutoutJob(models.Model):
    QUEUED, RUNNING, DONE, FAILED, CANCELLED, EXPIRED = "queued", "running", "done", "failed", "cancelled", "expired"
    NEEDS_LOGIN = "needs_login"  # no valid token left: waits, its finished blocks kept, until the owner logs in
    STATES = [(s, s) for s in (QUEUED, RUNNING, NEEDS_LOGIN, DONE, FAILED, CANCELLED, EXPIRED)]
    ACTIVE = (QUEUED, RUNNING, NEEDS_LOGIN)

    objects = CutoutJobQuerySet.as_manager()

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cutout_jobs")

    # The request, in voxels at `resolution` (half-open ranges).
    collection = models.CharField(max_length=255)
    experiment = models.CharField(max_length=255)
    channels = models.JSONField()  # [name, ...]
    resolution = models.PositiveSmallIntegerField()
    x0 = models.BigIntegerField()
    x1 = models.BigIntegerField()
    y0 = models.BigIntegerField()
    y1 = models.BigIntegerField()
    z0 = models.BigIntegerField()
    z1 = models.BigIntegerField()
    t0 = models.BigIntegerField(default=0)
    t1 = models.BigIntegerField(default=1)
    time_range = models.BooleanField(default=False)  # asked with an explicit time range
    split = models.BooleanField(default=False)  # deliver in parts (pipeline.plan.part_ranges), over the cap
    format = models.CharField(max_length=16, choices=list(FORMATS.items()), default="ome-tiff")
    # How the result's voxels are stored: "none", or a codec the format supports (issue 16).
    compression = models.CharField(max_length=16, blank=True, default="none")
    name = models.CharField(max_length=120, blank=True, default="")  # the owner's optional label for the job
    # What BOSS said at submission: {"channels": {name: {"datatype", "type"}}, "voxel_size": [x, y, z],
    # "voxel_unit", "hierarchy_method", "boss_url"}; the job needs no metadata call to run.
    meta = models.JSONField(default=dict)

    state = models.CharField(max_length=16, choices=STATES, default=QUEUED, db_index=True)
    blocks_done = models.PositiveIntegerField(default=0)
    blocks_total = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    result_name = models.CharField(max_length=255, blank=True, default="")  # file name under the job folder
    result_size = models.BigIntegerField(null=True, blank=True)
    parts = models.JSONField(default=list, blank=True)  # [{"n", "name", "size", "z": [z0, z1]}] when split
    attempts = models.PositiveIntegerField(default=0)
    task_id = models.CharField(max_length=255, blank=True, default="")
    notified = models.BooleanField(default=False)

    created = models.DateTimeField(default=timezone.now, db_index=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    expires = models.DateTimeField(null=True, blank=True)
    heartbeat = models.DateTimeField(null=True, blank=True)  # running: the run's heartbeat; queued: its message last seen
    # The OIDC access token a script submitted the job with (cutouts.sealing: encrypted, never shown), used
    # while it is valid; a fresher one replaces it when the owner calls the API again. Gone once the job ends.
    token_sealed = models.TextField(blank=True, default="")
    waiting_since = models.DateTimeField(null=True, blank=True)  # when it began to wait for a login

    class Meta:
        ordering = ["-created"]

    def __str__(self):
        return f"cutout {self.id} ({self.state})"

    # --- derived ---------------------------------------------------------------------------------------
    @property
    def box(self):
        return Box((self.x0, self.x1), (self.y0, self.y1), (self.z0, self.z1), (self.t0, self.t1))

    @property
    def spec(self):
        """The job's request as the pipeline reads it (cutouts.pipeline.spec)."""
        meta = self.meta or {}
        kinds = meta.get("channels", {})
        return CutoutSpec(
            boss_url=meta.get("boss_url") or settings.BOSS_URL,
            collection=self.collection, experiment=self.experiment,
            channels=tuple(ChannelSpec(n, kinds.get(n, {}).get("datatype", ""), kinds.get(n, {}).get("type", "image"))
                           for n in self.channels),
            resolution=self.resolution, box=self.box, format=self.format, time_range=self.time_range,
            compression=self.compression or "none",
            parts=tuple(tuple(z) for z in meta.get("part_z", [])) if self.split else (),
            voxel_size=tuple(meta.get("voxel_size", (1.0, 1.0, 1.0))),
            voxel_unit=meta.get("voxel_unit", "nanometers"),
            hierarchy_method=meta.get("hierarchy_method") or "anisotropic",
            viewer_url=meta.get("viewer_url", ""),
        )

    @property
    def voxels(self):
        return prod((self.x1 - self.x0, self.y1 - self.y0, self.z1 - self.z0, self.t1 - self.t0))

    @property
    def nbytes(self):
        dtypes = [self.meta.get("channels", {}).get(ch, {}).get("datatype", "uint8") for ch in self.channels]
        return sum(self.voxels * DTYPE_BYTES.get(d, 1) for d in dtypes)

    @property
    def progress(self):
        return 0.0 if not self.blocks_total else self.blocks_done / self.blocks_total

    # The job's files are `<id>/<result_name>` and `<id>/provenance.json` in the results storage
    # (cutouts/storage.py); these paths are where they are when that storage is local disk.
    @property
    def folder(self):
        return Path(settings.CUTOUT_RESULTS_DIR) / str(self.id)

    @property
    def result_path(self):
        return self.folder / self.result_name if self.result_name else None

    @property
    def sidecar_path(self):
        return self.folder / "provenance.json"

    @property
    def can_cancel(self):
        return self.state in self.ACTIVE

    @property
    def can_retry(self):
        return self.state in (self.FAILED, self.CANCELLED)

    @property
    def needs_login(self):
        return self.state == self.NEEDS_LOGIN

    @property
    def can_download(self):
        return self.state == self.DONE and self.result_name != ""

    def part(self, n):
        """Part `n` ({"n", "name", "size", "z"}) of a finished job delivered in parts, or None."""
        return next((p for p in self.parts if p["n"] == n), None) if self.can_download else None

    # --- transitions -----------------------------------------------------------------------------------
    def _move(self, from_states, **fields):
        """Conditional UPDATE: apply `fields` only if the job is still in one of `from_states` (and, for the
        run that started it, still this run's job)."""
        updated = self._mine().filter(state__in=from_states).update(**fields)
        try:
            self.refresh_from_db()
        except CutoutJob.DoesNotExist:  # its owner deleted it meanwhile (cutouts.service.delete): nothing moved
            return False
        return updated == 1

    def start(self, task_id="", max_running=None):
        """A worker takes the job: a queued one, or a running one whose heartbeat stopped (its worker died:
        a redelivered message, or one the reconciler sent again; cutouts.upkeep). A job whose heartbeat is
        fresh is not taken, so two workers never run one job. The run resumes from the blocks an earlier run
        recorded as finished (cutouts.engine).

        With `max_running`, a queued job starts only while its owner runs fewer other jobs than that. The
        count and the start happen in one transaction that begins by writing the owner's row (a row lock
        on PostgreSQL, the write lock on SQLite), so two workers starting two of one user's jobs at the
        same moment take turns and can't both pass the count. False when the job was not taken; a job
        still queued afterwards waits for its owner's running jobs."""
        now = timezone.now()
        stale = now - timedelta(seconds=settings.CUTOUT_STALE_SECONDS)
        fields = dict(state=self.RUNNING, started=now, heartbeat=now, blocks_done=0, error="",
                      attempts=F("attempts") + 1, task_id=task_id or self.task_id)
        takeable = models.Q(state=self.RUNNING, heartbeat__lt=stale)
        with transaction.atomic():
            if max_running is None:
                takeable |= models.Q(state=self.QUEUED)
            else:
                user_model = get_user_model()
                field = user_model.USERNAME_FIELD  # a write that changes nothing, for its lock
                user_model.objects.filter(pk=self.owner_id).update(**{field: F(field)})
                others = CutoutJob.objects.filter(owner_id=self.owner_id, state=self.RUNNING).exclude(pk=self.pk)
                if others.count() < max_running:
                    takeable |= models.Q(state=self.QUEUED)
            updated = CutoutJob.objects.filter(takeable, pk=self.pk).update(**fields)
        self.refresh_from_db()
        if updated == 1:
            self.run_attempt = self.attempts  # this run's transitions apply only while it owns the job
        return updated == 1

    def heartbeat_is_fresh(self):
        stale = timezone.now() - timedelta(seconds=settings.CUTOUT_STALE_SECONDS)
        return self.heartbeat is not None and self.heartbeat >= stale

    def _mine(self):
        """The rows this object may move: the job, and only while this run owns it (a run whose job was taken
        over by another worker after its heartbeat stopped must not finish, fail or count blocks for it)."""
        rows = CutoutJob.objects.filter(pk=self.pk)
        attempt = getattr(self, "run_attempt", None)
        return rows if attempt is None else rows.filter(attempts=attempt)

    def beat(self):
        """The running job's heartbeat (cutouts.heartbeat, every CUTOUT_HEARTBEAT_SECONDS). False once the
        job is no longer this run's: cancelled, ended, or taken over."""
        return self._mine().filter(state=self.RUNNING).update(heartbeat=timezone.now()) == 1

    def touch(self):
        """A queued job's message was seen (sent, or put back to wait for the owner's running jobs): the
        reconciler sends it again only when nothing has touched it for a while."""
        CutoutJob.objects.filter(pk=self.pk, state=self.QUEUED).update(heartbeat=timezone.now())

    def taken_over(self):
        """This run lost the job to another run (its heartbeat was late): leave the files to that run."""
        attempt = getattr(self, "run_attempt", None)
        return attempt is not None and CutoutJob.objects.filter(pk=self.pk).exclude(attempts=attempt).exists()

    def plan(self, blocks_total):
        return self._move((self.RUNNING,), blocks_total=blocks_total, heartbeat=timezone.now())

    def advance(self, n=1):
        """Count finished blocks. Returns False when the job is no longer running (cancelled)."""
        updated = self._mine().filter(state=self.RUNNING).update(
            blocks_done=F("blocks_done") + n, heartbeat=timezone.now()
        )
        return updated == 1

    def still_running(self):
        return self._mine().filter(state=self.RUNNING).exists()

    def finish(self, result_name, result_size, parts=None):
        now = timezone.now()
        return self._move(
            (self.RUNNING,), state=self.DONE, finished=now, result_name=result_name, result_size=result_size,
            parts=parts or [], token_sealed="",
            expires=now + timedelta(days=settings.CUTOUT_RETENTION_DAYS), blocks_done=F("blocks_total"),
        )

    def fail(self, reason):
        return self._move(self.ACTIVE, state=self.FAILED, finished=timezone.now(), error=str(reason)[:4000],
                          token_sealed="", waiting_since=None)

    def cancel(self):
        return self._move(self.ACTIVE, state=self.CANCELLED, finished=timezone.now(), token_sealed="",
                          waiting_since=None)

    def wait_for_login(self, reason):
        """No valid token is left: the job waits (its finished blocks kept) until its owner logs in."""
        return self._move((self.RUNNING,), state=self.NEEDS_LOGIN, waiting_since=timezone.now(),
                          error=str(reason)[:4000])

    def resume(self):
        """Back in the queue after its owner logged in (or sent the API a fresh token)."""
        return self._move((self.NEEDS_LOGIN,), state=self.QUEUED, waiting_since=None, error="")

    def retry(self):
        return self._move(
            (self.FAILED, self.CANCELLED), state=self.QUEUED, blocks_done=0, error="", started=None, finished=None,
            notified=False,
        )

    def expire(self):
        return self._move((self.DONE,), state=self.EXPIRED, result_name="", result_size=None, parts=[])
