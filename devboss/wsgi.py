import os

from django.core.wsgi import get_wsgi_application

# Always devboss's settings: test runs export DJANGO_SETTINGS_MODULE=portal.settings to their children.
os.environ["DJANGO_SETTINGS_MODULE"] = "devboss.settings"
application = get_wsgi_application()
