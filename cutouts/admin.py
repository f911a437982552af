"""The admin: staff see every cutout job and short link, read-only, and may cancel jobs or delete links.

Jobs are never added, edited or deleted here: they change only through their state machine
(cutouts/models.py), and deleting a row would leave its files in the results storage (expiry removes both).
ShortLink lives in portal/models.py but is served by cutouts/shortlinks.py, hence registered here.
"""
from django.contrib import admin

from cutouts.models import CutoutJob
from portal.models import ShortLink


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(CutoutJob)
class CutoutJobAdmin(ReadOnlyAdmin):
    list_display = ("owner", "state", "dataset", "channel_names", "resolution", "format", "created", "finished")
    list_filter = ("state", "format")
    search_fields = ("owner__username", "collection", "experiment")
    list_select_related = ("owner",)
    actions = ["cancel_jobs"]

    def has_delete_permission(self, request, obj=None):
        return False

    def has_cancel_permission(self, request):
        return request.user.has_perm("cutouts.change_cutoutjob")

    @admin.display(description="collection/experiment", ordering="collection")
    def dataset(self, job):
        return f"{job.collection}/{job.experiment}"

    @admin.display(description="channels")
    def channel_names(self, job):
        return ", ".join(job.channels)

    @admin.action(description="Cancel the selected queued or running jobs", permissions=["cancel"])
    def cancel_jobs(self, request, queryset):
        cancelled = sum(job.cancel() for job in queryset.filter(state__in=CutoutJob.ACTIVE))
        self.message_user(request, f"{cancelled} of {len(queryset)} selected jobs cancelled.")


@admin.register(ShortLink)
class ShortLinkAdmin(ReadOnlyAdmin):
    list_display = ("slug", "owner", "kind", "title", "public", "created", "expires")
    list_filter = ("kind", "public")
    search_fields = ("slug", "owner__username", "title")
    list_select_related = ("owner",)
