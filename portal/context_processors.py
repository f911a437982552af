from django.conf import settings


def portal(request):
    return {"BOSS_URL": settings.BOSS_URL, "PORTAL_DEV": settings.PORTAL_DEV}
