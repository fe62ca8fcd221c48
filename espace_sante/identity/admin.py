from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import LegalRepresentative, Organization, Person, Professional, Role, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "kind", "is_active", "is_staff", "date_joined"]
    list_filter = ["kind", "is_active", "is_staff"]
    search_fields = ["email"]
    fieldsets = [
        (None, {"fields": ["email", "password", "kind", "otp_channel"]}),
        ("Droits", {"fields": ["is_active", "is_staff", "is_superuser", "groups"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"fields": ["email", "kind", "password1", "password2"]})]


class RoleInline(admin.TabularInline):
    model = Role
    extra = 0
    autocomplete_fields = ["organization"]


@admin.register(Professional)
class ProfessionalAdmin(admin.ModelAdmin):
    list_display = ["last_name", "first_name", "profession", "specialty", "rpps"]
    list_filter = ["profession"]
    search_fields = ["last_name", "rpps"]
    inlines = [RoleInline]
    raw_id_fields = ["user"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "finess", "city"]
    list_filter = ["kind"]
    search_fields = ["name", "finess", "city"]


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    # Operators manage identities; health data is never reachable from here.
    list_display = ["birth_name", "first_names", "birth_date", "department", "identity_status"]
    list_filter = ["department", "identity_status", "sex"]
    search_fields = ["birth_name", "used_name", "ins_matricule"]
    raw_id_fields = ["user", "medecin_traitant"]


@admin.register(LegalRepresentative)
class LegalRepresentativeAdmin(admin.ModelAdmin):
    list_display = ["represented", "representative", "status"]
    raw_id_fields = ["represented", "representative"]
