from django.urls import path

from . import views

app_name = "record"
urlpatterns = [
    path("", views.document_list, name="document_list"),
    path("ajouter/", views.document_upload, name="document_upload"),
    path("<uuid:document_id>/", views.document_detail, name="document_detail"),
    path("<uuid:document_id>/contenu/", views.document_content, name="document_content"),
    path("<uuid:document_id>/telecharger/", views.document_download, name="document_download"),
    path("<uuid:document_id>/modifier/", views.document_edit, name="document_edit"),
    path("<uuid:document_id>/masquer/", views.document_mask, name="document_mask"),
    path("<uuid:document_id>/supprimer/", views.document_delete, name="document_delete"),
]
