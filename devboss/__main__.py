"""`python -m devboss <command>`: Django's manage.py for devboss (migrate, seed, createtoken, load_volume, ...)."""
import os
import sys


def main():
    # Always devboss's settings: test runs export DJANGO_SETTINGS_MODULE=portal.settings to their children.
    os.environ["DJANGO_SETTINGS_MODULE"] = "devboss.settings"
    from django.core.management import execute_from_command_line

    execute_from_command_line([sys.argv[0], *sys.argv[1:]])


if __name__ == "__main__":
    main()
