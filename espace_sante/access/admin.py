from typing import Generic, TypeVar

from django import forms
from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from . import documents
from .consent_models import MatrixCell, MatrixVersion
from .models import AccessReport, AuditEntry

_M = TypeVar("_M", bound=Model)


class ReadOnlyAdmin(admin.ModelAdmin[_M], Generic[_M]):
    """Operators look; nobody adds, changes or deletes (the trail is append-only)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: _M | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: _M | None = None) -> bool:
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin[AuditEntry]):
    list_display = ["at", "patient_id", "sequence", "actor_kind", "action", "outcome", "mode"]
    list_filter = ["outcome", "actor_kind", "action", "mode"]
    # Exact identifiers only: no free-text search over a patient's trail.
    search_fields = ["=patient_id", "=actor_professional_id", "=request_id"]
    ordering = ["-at"]
    show_full_result_count = False


@admin.action(description="Marquer comme traités")
def mark_handled(
    modeladmin: "AccessReportAdmin", request: HttpRequest, queryset: QuerySet[AccessReport]
) -> None:
    queryset.filter(status=AccessReport.Status.NEW).update(
        status=AccessReport.Status.HANDLED, handled_at=timezone.now()
    )


@admin.register(AccessReport)
class AccessReportAdmin(admin.ModelAdmin[AccessReport]):
    """« Je ne reconnais pas cet accès » : what patients reported, for operators to handle."""

    list_display = ["created_at", "status", "patient_id", "reported_action", "reported_actor"]
    list_filter = ["status"]
    ordering = ["-created_at"]
    actions = [mark_handled]
    readonly_fields = [
        "patient",
        "entry",
        "comment",
        "created_at",
        "handled_at",
        "reported_action",
        "reported_actor",
    ]
    fields = [
        "created_at",
        "patient",
        "entry",
        "reported_action",
        "reported_actor",
        "comment",
        "status",
        "operator_note",
        "handled_at",
    ]
    list_select_related = ["entry"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AccessReport | None = None) -> bool:
        return False

    @admin.display(description="action signalée")
    def reported_action(self, report: AccessReport) -> str:
        entry = report.entry
        return f"{entry.action} ({entry.get_outcome_display()}, {entry.mode or 'sans motif'})"

    @admin.display(description="auteur de l'accès")
    def reported_actor(self, report: AccessReport) -> str:
        entry = report.entry
        who = entry.actor_professional_id or entry.actor_person_id or entry.actor_user_id
        return f"{entry.actor_kind} {who or ''}".strip()

    def save_model(
        self,
        request: HttpRequest,
        obj: AccessReport,
        form: forms.ModelForm[AccessReport],
        change: bool,
    ) -> None:
        if obj.status == AccessReport.Status.HANDLED and obj.handled_at is None:
            obj.handled_at = timezone.now()
        elif obj.status == AccessReport.Status.NEW:
            obj.handled_at = None
        super().save_model(request, obj, form, change)


@admin.register(MatrixCell)
class MatrixCellAdmin(admin.ModelAdmin[MatrixCell]):
    """The profession × document-type matrix; every edit is kept in the admin history."""

    list_display = ["profession", "profession_label", "type_code", "type_label", "allowed"]
    list_editable = ["allowed"]
    list_filter = ["profession", "allowed"]
    search_fields = ["type_code"]
    ordering = ["profession", "type_code"]

    @admin.display(description="libellé de la profession")
    def profession_label(self, cell: MatrixCell) -> str:
        from espace_sante.identity.reference import PROFESSION_LABELS

        return PROFESSION_LABELS.get(cell.profession, "profession inconnue")

    @admin.display(description="libellé du type")
    def type_label(self, cell: MatrixCell) -> str:
        return documents.type_label(cell.type_code) or "type inconnu"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # every cell comes from the shipped file

    def has_delete_permission(self, request: HttpRequest, obj: MatrixCell | None = None) -> bool:
        return False


@admin.register(MatrixVersion)
class MatrixVersionAdmin(ReadOnlyAdmin[MatrixVersion]):
    list_display = ["version", "source", "loaded_at"]
