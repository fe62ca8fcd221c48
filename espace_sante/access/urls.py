from django.urls import path

from . import views

app_name = "access"
urlpatterns = [
    path("", views.settings_index, name="settings"),
    path("historique/", views.history, name="history"),
    path("historique/<uuid:entry_id>/signaler/", views.report, name="report"),
    path("notifications/", views.notifications, name="notifications"),
]
