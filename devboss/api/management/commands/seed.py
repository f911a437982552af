"""`python -m devboss seed [--credentials-file PATH]`: load the demo users and resources (devboss.demo).

Idempotent: a second run changes nothing, and every user keeps their API token, so a credentials file
written earlier stays valid.
"""
import json
from pathlib import Path

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction

from devboss import demo
from devboss.api.models import ApiToken, Channel, Collection, CoordinateFrame, Experiment


def seed_user(spec):
    """The user of `spec` with its password and an API token; returns (user, token key)."""
    User = get_user_model()
    user, _ = User.objects.get_or_create(username=spec["username"])
    fields = {k: spec[k] for k in ("email", "first_name", "last_name", "is_staff", "is_superuser")}
    changed = [k for k, v in fields.items() if getattr(user, k) != v]
    for k in changed:
        setattr(user, k, fields[k])
    if not user.check_password(spec["password"]):
        user.set_password(spec["password"])
        changed.append("password")
    if changed:
        user.save()
    token, _ = ApiToken.objects.get_or_create(user=user)
    return user, token.key


def _upsert(model, lookup, values):
    """Create the row, or bring an existing one back to `values` (and out of soft deletion)."""
    obj, created = model.objects.get_or_create(**lookup, defaults={**values, "to_be_deleted": None})
    if not created:
        changed = [k for k, v in {**values, "to_be_deleted": None}.items() if getattr(obj, k) != v]
        if changed:
            for k in changed:
                setattr(obj, k, values.get(k))
            obj.save(update_fields=changed)
    return obj


def seed_resources(users):
    frames = {}
    for spec in demo.COORD_FRAMES:
        values = {k: v for k, v in spec.items() if k not in ("name", "creator")}
        frames[spec["name"]] = _upsert(
            CoordinateFrame, {"name": spec["name"]}, {**values, "creator": users[spec["creator"]]}
        )
    for c_spec in demo.COLLECTIONS:
        creator = users[c_spec["creator"]]
        collection = _upsert(
            Collection, {"name": c_spec["name"]},
            {"description": c_spec["description"], "public": c_spec["public"], "creator": creator},
        )
        for e_spec in c_spec["experiments"]:
            values = {k: v for k, v in e_spec.items() if k not in ("name", "channels", "coord_frame")}
            experiment = _upsert(
                Experiment, {"collection": collection, "name": e_spec["name"]},
                {**values, "coord_frame": frames[e_spec["coord_frame"]], "creator": creator},
            )
            for ch_spec in e_spec["channels"]:
                values = {k: v for k, v in ch_spec.items() if k != "name"}
                _upsert(Channel, {"experiment": experiment, "name": ch_spec["name"]}, {**values, "creator": creator})


class Command(BaseCommand):
    help = "Create the demo users (with API tokens) and resources; print the credentials."

    def add_arguments(self, parser):
        parser.add_argument("--credentials-file", help="write users, passwords and tokens to this JSON file")

    def handle(self, *args, credentials_file=None, **options):
        with transaction.atomic():
            users, credentials = {}, {}
            for spec in demo.USERS:
                user, key = seed_user(spec)
                users[spec["username"]] = user
                credentials[spec["username"]] = {"password": spec["password"], "token": key, "email": spec["email"]}
            seed_resources(users)

        self.stdout.write(f"{'user':<8} {'password':<16} token")
        for username, cred in credentials.items():
            self.stdout.write(f"{username:<8} {cred['password']:<16} {cred['token']}")
        if credentials_file:
            path = Path(credentials_file)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"users": credentials}, indent=2) + "\n")
            self.stdout.write(f"Credentials written to {path}")

        # The OIDC provider is optional: seed its client only when its app is installed.
        if apps.is_installed("oauth2_provider"):
            call_command("seed_oidc")
