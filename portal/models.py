"""Short links owned by the portal: a Neuroglancer state, or a cutout recipe (the form's request dict).

Served by cutouts/shortlinks.py at /s/<slug> (and /s/<slug>.json for Neuroglancer's `#!<url>` form).
"""
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone


def new_slug():
    return secrets.token_urlsafe(8)  # 11 characters, 64 random bits: not guessable, short enough to paste


class ShortLink(models.Model):
    VIEWER, RECIPE = "viewer", "recipe"
    KINDS = [(VIEWER, "Viewer state"), (RECIPE, "Cutout recipe")]

    slug = models.CharField(max_length=32, unique=True, default=new_slug)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="short_links")
    kind = models.CharField(max_length=8, choices=KINDS)
    title = models.CharField(max_length=255, blank=True, default="")
    payload = models.JSONField()  # viewer: the Neuroglancer state; recipe: the cutout form's request dict
    public = models.BooleanField(default=False)
    expires = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created"]

    def __str__(self):
        return f"{self.kind} {self.slug}"

    @property
    def expired(self):
        return self.expires is not None and self.expires <= timezone.now()

    def visible_to(self, user):
        """Public links to anyone, private ones to their owner only; expired ones to nobody."""
        if self.expired:
            return False
        return self.public or (user.is_authenticated and user.pk == self.owner_id)
