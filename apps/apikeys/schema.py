"""OpenAPI description of API-key authentication (loaded by the app config)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class APIKeyScheme(OpenApiAuthenticationExtension):
    target_class = "apps.apikeys.authentication.APIKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "pk_<lookup>_<secret>",
            "description": "An API key created in the portal: `Authorization: Bearer pk_…`.",
        }
