"""Log in with OpenID Connect (django-allauth), keep each user's tokens server-side, check API bearer tokens.

- oidc.py: the provider's endpoints, token refresh and revocation (plain functions over `requests`).
- tokens.py: the current access token of a user, refreshed when due (used by portal.boss.credentials).
- api.py: DRF authentication of `Authorization: Bearer <token>` (mozilla-django-oidc, users matched by `sub`).
- views.py, urls in portal/urls_auth.py: login page, logout (RP-initiated), /api/me/.
"""
