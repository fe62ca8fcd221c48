from django.urls import path

from . import pro_views

app_name = "pharmacy_pro"
urlpatterns = [
    path("", pro_views.inbox, name="inbox"),
    path("<uuid:order_id>/statut/", pro_views.set_status, name="set_status"),
]
