from django.urls import path

from . import views

app_name = "portal"
urlpatterns = [
    path("", views.find_patient, name="find_patient"),
    path("compte/", views.account, name="account"),
    path("patients/<uuid:patient_id>/", views.patient, name="patient"),
    path("patients/<uuid:patient_id>/consentement/", views.record_consent, name="consent"),
    path("patients/<uuid:patient_id>/equipe-de-soins/", views.declare_care_team, name="care_team"),
    path("patients/<uuid:patient_id>/urgence/", views.emergency, name="emergency"),
    path("patients/<uuid:patient_id>/deposer/", views.deposit, name="deposit"),
    path(
        "patients/<uuid:patient_id>/rendez-vous/",
        views.add_appointment,
        name="add_appointment",
    ),
    path(
        "patients/<uuid:patient_id>/rendez-vous/<uuid:appointment_id>/annuler/",
        views.cancel_appointment,
        name="cancel_appointment",
    ),
    path("documents/<uuid:document_id>/", views.document_content, name="document"),
    path("documents/<uuid:document_id>/retirer/", views.withdraw, name="withdraw"),
]
