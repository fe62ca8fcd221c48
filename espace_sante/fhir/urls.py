from django.urls import path, re_path

from . import appointments, communications, views

app_name = "fhir"

ID = r"(?P<resource_id>[A-Za-z0-9\-\.]{1,64})"

urlpatterns = [
    path("", views.base, name="base"),
    path("metadata", views.metadata, name="metadata"),
    path("List", views.lists, name="lists"),
    path("DocumentReference", views.document_references, name="document-references"),
    path("DocumentReference/_search", views.document_references_search, name="document-search"),
    re_path(rf"^DocumentReference/{ID}$", views.document_reference, name="document-reference"),
    re_path(
        rf"^DocumentReference/{ID}/_history/(?P<version>[A-Za-z0-9\-\.]{{1,64}})$",
        views.document_reference,
        name="document-reference-version",
    ),
    re_path(rf"^Binary/{ID}$", views.binary, name="binary"),
    path("Patient", views.patient_search, name="patients"),
    re_path(rf"^Patient/{ID}$", views.patient_read, name="patient"),
    path("AuditEvent", views.audit_events, name="audit-events"),
    path("Communication", communications.communications, name="communications"),
    re_path(rf"^Communication/{ID}$", communications.communication, name="communication"),
    path("Appointment", appointments.appointments, name="appointments"),
    re_path(rf"^Appointment/{ID}$", appointments.appointment, name="appointment"),
    re_path(
        rf"^Appointment/{ID}/_history/(?P<version>[A-Za-z0-9\-\.]{{1,64}})$",
        appointments.appointment,
        name="appointment-version",
    ),
    # Anything else under the base: a 404 OperationOutcome, never an HTML page ([\s\S], not
    # ".": a path holding %0A is still ours).
    re_path(r"^(?P<rest>[\s\S]*)$", views.not_found, name="not-found"),
]
