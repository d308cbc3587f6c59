"""`/api/schema/`, generated once per process and language.

A generation walks every endpoint and takes about a second of CPU, and the schema is public: each
anonymous request used to cost that much. What it describes changes only with the code (a deploy
starts new processes) or, in tests, with the settings and URLs, whose change empties the cache.
"""

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.urls import get_urlconf
from django.utils import translation
from drf_spectacular.views import SpectacularAPIView
from rest_framework.response import Response

_schemas: dict[tuple, dict] = {}


class SchemaView(SpectacularAPIView):
    def _get_schema_response(self, request):
        version = self.api_version or request.version or self._get_version_parameter(request)
        key = (version, translation.get_language(), get_urlconf())
        schema = _schemas.get(key)
        if schema is None:
            generator = self.generator_class(urlconf=self.urlconf, api_version=version, patterns=self.patterns)
            schema = _schemas[key] = generator.get_schema(request=request, public=self.serve_public)
        return Response(
            data=schema,
            headers={"Content-Disposition": f'inline; filename="{self._get_filename(request, version)}"'},
        )


@receiver(setting_changed)
def forget_schemas(**kwargs) -> None:
    _schemas.clear()
