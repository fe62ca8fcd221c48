from django.urls import path

from . import views

app_name = "enrollment"
urlpatterns = [
    path("activer/", views.activate_start, name="activate"),
    path("activer/compte/", views.activate_account, name="activate_account"),
    path("opposition/", views.object_start, name="object"),
    path("opposition/enregistree/", views.objection_done, name="objection_done"),
    path("opposition/recepisse.pdf", views.objection_receipt, name="objection_receipt"),
    path("nouveau-code/", views.new_code, name="new_code"),
    path("parametres/fermeture/", views.close, name="close"),
    path("parametres/fermeture/confirmer/", views.close_confirm, name="close_confirm"),
    path("espace-ferme/", views.closed, name="closed"),
]
