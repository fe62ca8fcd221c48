"""« Qui peut voir mon dossier », included at /parametres/confidentialite/ by the project.

Every page names the patient in its URL, so that the same pages serve a parent
for a child's space; the policy decides who manages which space.
"""

from django.urls import path

from . import views

app_name = "privacy"
urlpatterns = [
    path("", views.home, name="home"),
    path("<uuid:patient_id>/", views.index, name="index"),
    path("<uuid:patient_id>/bloquer/<uuid:professional_id>/", views.block, name="block"),
    path("<uuid:patient_id>/debloquer/<uuid:professional_id>/", views.unblock, name="unblock"),
    path(
        "<uuid:patient_id>/consentement/<uuid:professional_id>/retirer/",
        views.revoke_consent,
        name="revoke_consent",
    ),
    path("<uuid:patient_id>/roles/ajouter/", views.role_add, name="role_add"),
    path(
        "<uuid:patient_id>/roles/<uuid:professional_id>/retirer/",
        views.role_remove,
        name="role_remove",
    ),
    path("<uuid:patient_id>/nouveaux-documents/", views.new_documents, name="new_documents"),
    path("<uuid:patient_id>/tout-masquer/", views.mask_everything, name="mask_everything"),
    path("<uuid:patient_id>/urgences/", views.emergency, name="emergency"),
]
