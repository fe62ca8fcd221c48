"""URLs of the medical profile, included at /profil/ by the project."""

from django.urls import path

from . import views

app_name = "profile"
urlpatterns = [
    path("", views.home, name="home"),
    path("<uuid:patient_id>/", views.index, name="index"),
    path("<uuid:patient_id>/synthese.pdf", views.summary_pdf, name="summary_pdf"),
    path("<uuid:patient_id>/synthese/enregistrer/", views.summary_save, name="summary_save"),
    path("<uuid:patient_id>/mesures/", views.measures, name="measures"),
    path("<uuid:patient_id>/mesures/<slug:slug>/", views.measure_page, name="measure"),
    path(
        "<uuid:patient_id>/mesures/<slug:slug>/objectif/",
        views.measure_target,
        name="measure_target",
    ),
    path(
        "<uuid:patient_id>/mesures/<slug:slug>/<uuid:measure_id>/supprimer/",
        views.measure_delete,
        name="measure_delete",
    ),
    path("<uuid:patient_id>/<slug:slug>/", views.section_page, name="section"),
    path("<uuid:patient_id>/<slug:slug>/ajouter/", views.entry_add, name="entry_add"),
    path("<uuid:patient_id>/<slug:slug>/modifier/", views.singleton_edit, name="singleton_edit"),
    path("<uuid:patient_id>/<slug:slug>/effacer/", views.singleton_clear, name="singleton_clear"),
    path(
        "<uuid:patient_id>/<slug:slug>/<uuid:entry_id>/modifier/",
        views.entry_edit,
        name="entry_edit",
    ),
    path(
        "<uuid:patient_id>/<slug:slug>/<uuid:entry_id>/supprimer/",
        views.entry_delete,
        name="entry_delete",
    ),
]
