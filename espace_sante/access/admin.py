from django.contrib import admin
from django.utils import timezone

from . import documents
from .consent_models import MatrixCell, MatrixVersion
from .models import AccessReport, AuditEntry


class ReadOnlyAdmin(admin.ModelAdmin):
    """Operators look; nobody adds, changes or deletes (the trail is append-only)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["at", "patient_id", "sequence", "actor_kind", "action", "outcome", "mode"]
    list_filter = ["outcome", "actor_kind", "action", "mode"]
    # Exact identifiers only: no free-text search over a patient's trail.
    search_fields = ["=patient_id", "=actor_professional_id", "=request_id"]
    ordering = ["-at"]
    show_full_result_count = False


@admin.action(description="Marquer comme traités")
def mark_handled(modeladmin, request, queryset):
    queryset.filter(status=AccessReport.Status.NEW).update(
        status=AccessReport.Status.HANDLED, handled_at=timezone.now()
    )


@admin.register(AccessReport)
class AccessReportAdmin(admin.ModelAdmin):
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

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="action signalée")
    def reported_action(self, report):
        entry = report.entry
        return f"{entry.action} ({entry.get_outcome_display()}, {entry.mode or 'sans motif'})"

    @admin.display(description="auteur de l'accès")
    def reported_actor(self, report):
        entry = report.entry
        who = entry.actor_professional_id or entry.actor_person_id or entry.actor_user_id
        return f"{entry.actor_kind} {who or ''}".strip()

    def save_model(self, request, obj, form, change):
        if obj.status == AccessReport.Status.HANDLED and obj.handled_at is None:
            obj.handled_at = timezone.now()
        elif obj.status == AccessReport.Status.NEW:
            obj.handled_at = None
        super().save_model(request, obj, form, change)


@admin.register(MatrixCell)
class MatrixCellAdmin(admin.ModelAdmin):
    """The profession × document-type matrix; every edit is kept in the admin history."""

    list_display = ["profession", "profession_label", "type_code", "type_label", "allowed"]
    list_editable = ["allowed"]
    list_filter = ["profession", "allowed"]
    search_fields = ["type_code"]
    ordering = ["profession", "type_code"]

    @admin.display(description="libellé de la profession")
    def profession_label(self, cell):
        from espace_sante.identity.reference import PROFESSION_LABELS

        return PROFESSION_LABELS.get(cell.profession, "profession inconnue")

    @admin.display(description="libellé du type")
    def type_label(self, cell):
        return documents.type_label(cell.type_code) or "type inconnu"

    def has_add_permission(self, request):
        return False  # every cell comes from the shipped file

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(MatrixVersion)
class MatrixVersionAdmin(ReadOnlyAdmin):
    list_display = ["version", "source", "loaded_at"]
