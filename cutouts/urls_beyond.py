"""Viewer link -> form, form recipes and preview, short links (issue #8, "Beyond the peers")."""
from django.urls import path

from cutouts import form_recipes, paste, preview, shortlinks

urlpatterns = [
    path("cutouts/from-viewer/", paste.from_viewer, name="cutout-from-viewer"),
    path("c/<slug:collection>/<slug:experiment>/preview.png", preview.preview, name="cutout-preview"),
    path("c/<slug:collection>/<slug:experiment>/recipes.json", form_recipes.form_recipes, name="cutout-form-recipes"),
    path("s/", shortlinks.link_list, name="link-list"),
    path("s/new", shortlinks.create, name="link-new"),
    path("s/<slug:slug>.json", shortlinks.state_json, name="link-state"),
    path("s/<slug:slug>", shortlinks.open_link, name="link-open"),
    path("s/<slug:slug>/delete", shortlinks.delete, name="link-delete"),
]
