"""Signals of the login layer, for apps that act on a user's fresh credential (cutouts resumes waiting jobs)."""
from django.dispatch import Signal

# Sent after a JSON API request authenticated with a bearer token: sender=None, user=..., credential=...
bearer_authenticated = Signal()
