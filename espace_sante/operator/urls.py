from django.urls import path

from . import views

app_name = "operator"
urlpatterns = [
    path("", views.campaigns, name="campaigns"),
    path("personnes/", views.person, name="person"),
    path("personnes/<uuid:person_id>/", views.person_detail, name="person_detail"),
    path("personnes/<uuid:person_id>/<slug:action>/", views.person_action, name="person_action"),
    path("campagnes/<uuid:campaign_id>/", views.campaign, name="campaign"),
    path("campagnes/<uuid:campaign_id>/import/", views.upload, name="upload"),
    path("campagnes/<uuid:campaign_id>/invitations/", views.invite, name="invite"),
    path(
        "campagnes/<uuid:campaign_id>/courriers/<uuid:batch_id>.pdf",
        views.letters,
        name="letters",
    ),
    path(
        "campagnes/<uuid:campaign_id>/imports/<uuid:report_id>/lignes-refusees.csv",
        views.refused_lines,
        name="refused_lines",
    ),
]
