"""Where results go (CUTOUT_STORAGE, STORAGES["results"]), reported as system checks rather than raised while
the settings load. Registered in cutouts/apps.py."""
from django.conf import settings
from django.core.checks import Error
from django.utils.module_loading import import_string

STORAGE_CHOICES = ("local", "s3")


def check_results_storage(app_configs=None, **kwargs):
    if settings.CUTOUT_STORAGE not in STORAGE_CHOICES:
        return [Error(f"CUTOUT_STORAGE must be local or s3, not {settings.CUTOUT_STORAGE!r}.", id="cutouts.E001")]
    if settings.CUTOUT_STORAGE != "s3":
        return []
    errors = []
    if not settings.CUTOUT_S3["bucket_name"]:
        errors.append(Error("CUTOUT_STORAGE=s3 needs AWS_STORAGE_BUCKET_NAME.", id="cutouts.E002"))
    try:
        import_string(settings.STORAGES["results"]["BACKEND"])
    except ImportError as exc:
        errors.append(Error(
            f"CUTOUT_STORAGE=s3 needs django-storages with boto3 ({exc}).",
            hint='Install the portal with its s3 extra: pip install "boss-portal[s3]".',
            id="cutouts.E003",
        ))
    return errors
