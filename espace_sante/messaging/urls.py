from django.urls import path

from . import views

app_name = "messaging"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("<uuid:conversation_id>/", views.conversation, name="conversation"),
    path("<uuid:conversation_id>/repondre/", views.reply, name="reply"),
    path("<uuid:conversation_id>/supprimer/", views.delete, name="delete"),
    path("pieces-jointes/<uuid:attachment_id>/", views.attachment, name="attachment"),
    path(
        "pieces-jointes/<uuid:attachment_id>/ajouter-aux-documents/",
        views.save_attachment,
        name="save_attachment",
    ),
]
