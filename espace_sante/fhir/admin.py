import jwt
from django import forms
from django.contrib import admin

from .models import SoftwareClient


class SoftwareClientForm(forms.ModelForm):
    class Meta:
        model = SoftwareClient
        fields = ["application", "organization", "software_name", "jwks", "active"]

    def clean_jwks(self):
        jwks = self.cleaned_data["jwks"]
        if not isinstance(jwks, dict) or not jwks.get("keys"):
            raise forms.ValidationError('Un JWK Set est attendu : {"keys": [ … ]}.')
        if any(isinstance(key, dict) and "d" in key for key in jwks["keys"]):
            raise forms.ValidationError(
                "Ce JWKS contient une clé privée (« d ») : n'enregistrez que la clé publique, "
                "et faites changer la clé du logiciel, qui n'est plus secrète."
            )
        try:
            jwt.PyJWKSet.from_dict(jwks)
        except (jwt.PyJWKSetError, jwt.InvalidKeyError, ValueError, TypeError, KeyError) as exc:
            raise forms.ValidationError(f"Clés illisibles : {exc}") from None
        return jwks


@admin.register(SoftwareClient)
class SoftwareClientAdmin(admin.ModelAdmin):
    form = SoftwareClientForm
    list_display = ["software_name", "organization", "client_id", "active", "created_at"]
    list_filter = ["active"]
    search_fields = ["software_name", "organization__name", "organization__finess"]
    autocomplete_fields = ["organization"]

    @admin.display(description="client_id")
    def client_id(self, obj):
        return obj.application.client_id
