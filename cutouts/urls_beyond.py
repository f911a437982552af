"""Viewer link -> form, form recipes and preview, short links (issue #8, "Beyond the peers")."""
from django.urls import path

from cutouts import form_recipes, objects, paste, preview, shortlinks
from portal.errors import boss_errors

urlpatterns = [
    path("cutouts/from-viewer/", paste.from_viewer, name="cutout-from-viewer"),
    path("c/<slug:collection>/<slug:experiment>/preview.png", preview.preview, name="cutout-preview"),
    path("c/<slug:collection>/<slug:experiment>/recipes.json", form_recipes.form_recipes, name="cutout-form-recipes"),
    path("c/<slug:collection>/<slug:experiment>/objects/", boss_errors(objects.objects_in_box), name="cutout-objects"),
    path("c/<slug:collection>/<slug:experiment>/object/", boss_errors(objects.cut_out_object), name="cutout-object"),
    path("s/", shortlinks.link_list, name="link-list"),
    path("s/new", shortlinks.create, name="link-new"),
    path("s/<slug:slug>.json", shortlinks.state_json, name="link-state"),
    path("s/<slug:slug>", shortlinks.open_link, name="link-open"),
    path("s/<slug:slug>/delete", shortlinks.delete, name="link-delete"),
]
