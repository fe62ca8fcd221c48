from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse

from .models import LegalRepresentative, Organization, Person, Professional, Role, User


def sign_in_through_the_site(request, extra_context=None):
    """The admin has no password form of its own: it sends to the site's sign-in.

    Django's admin login checks a password alone, with no lockout and no
    second factor. Replaced by this view, `/admin/login/` evaluates nothing:
    staff sign in like everyone (password, TOTP, the per-account lock) and
    come back to the admin page they asked for (allauth checks `next`).
    """
    if request.user.is_authenticated:
        # Signed in but not staff: sending them to sign in again would loop.
        raise PermissionDenied
    next_url = request.GET.get(REDIRECT_FIELD_NAME) or reverse("admin:index")
    return redirect(f"{reverse('account_login')}?{urlencode({REDIRECT_FIELD_NAME: next_url})}")


admin.site.login = sign_in_through_the_site  # type: ignore[method-assign]


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
