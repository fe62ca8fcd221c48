from django.urls import path

from . import questionnaire_views, views

app_name = "agenda"

# --- Agenda pages, prevention reminders and the calendar feed (views.py) ---
urlpatterns = [
    path("", views.index, name="index"),
    path("mois/<str:month>/", views.month, name="month"),
    path("rendez-vous/nouveau/", views.appointment_add, name="appointment_add"),
    path(
        "rendez-vous/<uuid:appointment_id>/modifier/",
        views.appointment_edit,
        name="appointment_edit",
    ),
    path(
        "rendez-vous/<uuid:appointment_id>/annuler/",
        views.appointment_cancel,
        name="appointment_cancel",
    ),
    path("rendez-vous/<uuid:appointment_id>.ics", views.appointment_ics, name="appointment_ics"),
    path("prevention/", views.prevention, name="prevention"),
    path("prevention/fait/", views.prevention_done, name="prevention_done"),
    path("prevention/choix/", views.prevention_choice, name="prevention_choice"),
    path("prevention/activation/", views.prevention_switch, name="prevention_switch"),
    path("prevention/grossesse/", views.prevention_pregnancy, name="prevention_pregnancy"),
    path("calendrier/", views.feed_settings, name="feed_settings"),
    path("calendrier/<uuid:feed_id>/<str:token>.ics", views.feed, name="feed"),
]

# --- Mon bilan prévention: the self-questionnaires (questionnaire_views.py) ---
urlpatterns += [
    path(
        "bilan-prevention/",
        questionnaire_views.questionnaire_list,
        name="questionnaire_list",
    ),
    path(
        "bilan-prevention/<str:band>/",
        questionnaire_views.questionnaire_start,
        name="questionnaire_start",
    ),
    path(
        "bilan-prevention/<str:band>/etape/<int:number>/",
        questionnaire_views.questionnaire_step,
        name="questionnaire_step",
    ),
    path(
        "bilan-prevention/<str:band>/termine/",
        questionnaire_views.questionnaire_done,
        name="questionnaire_done",
    ),
]
