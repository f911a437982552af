"""Claims in the ID token and at userinfo, as BOSS's Keycloak gives them (allauth and mozilla-django-oidc need email)."""
from oauth2_provider.oauth2_validators import OAuth2Validator


class BossOAuth2Validator(OAuth2Validator):
    # Keycloak releases these claims to every client of the realm; don't gate them on scopes.
    oidc_claim_scope = None

    def get_additional_claims(self, request):
        user = request.user
        return {
            "email": user.email,
            "email_verified": bool(user.email),
            "preferred_username": user.username,
            "given_name": user.first_name,
            "family_name": user.last_name,
            "name": user.get_full_name() or user.username,
        }

    def get_discovery_claims(self, request):
        return ["sub", "email", "email_verified", "preferred_username", "given_name", "family_name", "name"]
