"""Claims our own OpenID Connect provider gives about a user.

Professionals are identified as Pro Santé Connect does: ``SubjectNameID`` is
the national id (8 + RPPS), so a relying party can map them to the directory.
"""

from oauth2_provider.oauth2_validators import OAuth2Validator


class OIDCValidator(OAuth2Validator):
    oidc_claim_scope = {
        **OAuth2Validator.oidc_claim_scope,
        "SubjectNameID": "openid",
        "given_name": "profile",
        "family_name": "profile",
        "email": "email",
    }

    def get_additional_claims(self, request):
        user = request.user
        claims = {"email": user.email}
        professional = getattr(user, "professional", None)
        if professional is not None:
            claims.update(
                SubjectNameID=professional.id_nat,
                given_name=professional.first_name,
                family_name=professional.last_name,
            )
        return claims
