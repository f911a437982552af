"""`python -m devboss createtoken USERNAME [--create-user] [--password P]`: print the user's API token."""
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from devboss.api.models import ApiToken


class Command(BaseCommand):
    help = "Print a user's devboss API token (for `Authorization: Token <key>`), creating it if needed."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--create-user", action="store_true", help="create the user if it does not exist")
        parser.add_argument("--password", help="set this password on the user")

    def handle(self, *args, username, create_user=False, password=None, **options):
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user is None:
            if not create_user:
                raise CommandError(f"No user {username!r}; pass --create-user to create it.")
            user = User.objects.create_user(username=username)
        if password:
            user.set_password(password)
            user.save()
        token, _ = ApiToken.objects.get_or_create(user=user)
        self.stdout.write(token.key)
