"""Personal Zarr links: `/zarr/<secret>/<c>/<e>/<ch>.ome.zarr/` reads a private channel as the link's owner.

The secret is the credential (tools such as napari and Neuroglancer can send nothing but a URL): 256 random
bits, shown to its owner once, stored only as its SHA-256. A link reads with its owner's identity at the
moment of each request, so it never reads more than the owner can; revoking or expiring it takes effect on
the next request. `scope` limits it to a collection or an experiment ("" = whatever the owner can read).
"""
import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

PREFIX_CHARS = 6  # shown in lists, so the owner can tell links apart without the secret


def hash_secret(secret):
    return hashlib.sha256(secret.encode()).hexdigest()


class ZarrLinkQuerySet(models.QuerySet):
    def usable(self):
        now = timezone.now()
        return self.filter(revoked__isnull=True).filter(models.Q(expires__isnull=True) | models.Q(expires__gt=now))


class ZarrLink(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="zarr_links")
    name = models.CharField(max_length=100)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    key_prefix = models.CharField(max_length=PREFIX_CHARS, editable=False)
    scope = models.CharField(max_length=200, blank=True, default="",
                             help_text='"" (everything the owner can read), "<collection>" or "<collection>/<experiment>"')
    created = models.DateTimeField(default=timezone.now)
    expires = models.DateTimeField(null=True, blank=True)
    revoked = models.DateTimeField(null=True, blank=True)
    last_used = models.DateTimeField(null=True, blank=True)

    objects = ZarrLinkQuerySet.as_manager()

    class Meta:
        ordering = ["-created"]

    def __str__(self):
        return f"{self.name} ({self.key_prefix}…)"

    @classmethod
    def create(cls, owner, name, expires=None, scope=""):
        """(link, secret): the secret exists only in this return value."""
        secret = secrets.token_urlsafe(32)
        link = cls.objects.create(owner=owner, name=name, key_hash=hash_secret(secret),
                                  key_prefix=secret[:PREFIX_CHARS], expires=expires, scope=scope)
        return link, secret

    @classmethod
    def find(cls, secret):
        """The link of `secret` (usable or not), or None. Looked up by hash: the secret is never compared."""
        if not secret or len(secret) > 100:
            return None
        return cls.objects.select_related("owner").filter(key_hash=hash_secret(secret)).first()

    @property
    def state(self):
        if self.revoked is not None:
            return "revoked"
        if self.expires is not None and self.expires <= timezone.now():
            return "expired"
        return "active"

    def covers(self, collection, experiment):
        """Whether the link's scope includes this experiment."""
        if not self.scope:
            return True
        parts = self.scope.split("/")
        return parts == [collection, experiment][:len(parts)]

    def revoke(self):
        if self.revoked is None:
            self.revoked = timezone.now()
            self.save(update_fields=["revoked"])
