from django.urls import path

from . import questionnaire_views

app_name = "agenda"

urlpatterns = [
    # Other agenda pages (appointments, prevention reminders) go above this block.
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
