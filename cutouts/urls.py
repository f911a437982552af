from django.urls import include, path

from cutouts import api, live_check, views
from portal.errors import boss_errors

urlpatterns = [
    path("c/<slug:collection>/<slug:experiment>/cutout/", boss_errors(views.cutout_form), name="cutout-form"),
    path("c/<slug:collection>/<slug:experiment>/cutout/check.json", live_check.live_check, name="cutout-check"),
    path("cutouts/", views.jobs, name="cutout-jobs"),
    path("cutouts/<uuid:job_id>/", views.job_page, name="cutout-job"),
    path("cutouts/<uuid:job_id>/download", views.download, name="cutout-download"),
    path("cutouts/<uuid:job_id>/parts/<int:n>", views.download_part, name="cutout-part"),
    path("cutouts/<uuid:job_id>/provenance.json", views.provenance, name="cutout-provenance"),
    path("cutouts/<uuid:job_id>/cancel", views.cancel, name="cutout-cancel"),
    path("cutouts/<uuid:job_id>/retry", views.retry, name="cutout-retry"),
    path("cutouts/<uuid:job_id>/delete", views.delete, name="cutout-delete"),
    path("api/cutouts/", boss_errors(api.JobsView.as_view()), name="api-cutouts"),
    path("api/cutouts/<uuid:job_id>/", api.JobDetailView.as_view(), name="api-cutout"),
    path("api/cutouts/<uuid:job_id>/download", api.DownloadView.as_view(), name="api-cutout-download"),
    path("api/cutouts/<uuid:job_id>/parts/<int:n>", api.PartView.as_view(), name="api-cutout-part"),
    path("api/cutouts/<uuid:job_id>/cancel", api.CancelView.as_view(), name="api-cutout-cancel"),
    path("api/cutouts/<uuid:job_id>/retry", api.RetryView.as_view(), name="api-cutout-retry"),
]
urlpatterns.append(path("", include("cutouts.urls_beyond")))  # viewer links, previews, short links
