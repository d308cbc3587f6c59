from typing import cast

from django import forms
from django.conf import settings

from apps.catalog.models import Application
from apps.tenants.forms import ServiceForm


class ApplicationChoice(forms.ModelChoiceField):
    """An application of the tenant, shown by its name."""

    def label_from_instance(self, obj) -> str:
        return obj.name


class BuildForm(ServiceForm):
    """A build from the browser: an uploaded context, or a Git repository and ref."""

    application = ApplicationChoice(queryset=Application.objects.none(), to_field_name="name")
    context = forms.FileField(required=False, label="Context (.tar.gz)", help_text="The folder with the Dockerfile.")
    repository_url = forms.CharField(
        required=False, max_length=300, label="Or a Git repository", help_text="https:// only."
    )
    ref = forms.CharField(required=False, max_length=200, label="Branch, tag or commit")
    dockerfile = forms.CharField(max_length=200, initial="Dockerfile")
    tag = forms.CharField(required=False, max_length=128, help_text="Default: build-<number>.")
    create_release = forms.BooleanField(
        required=False, initial=True, label="Cut a release pinned to the pushed image, with the current settings"
    )

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        application = cast(forms.ModelChoiceField, self.fields["application"])
        application.queryset = Application.objects.filter(tenant=tenant).order_by("name")

    def clean_context(self):
        """Refused by its size before anything reads it into memory (the service checks the rest)."""
        upload = self.cleaned_data.get("context")
        if upload and upload.size > settings.BUILD_CONTEXT_MAX_BYTES:
            raise forms.ValidationError(
                f"The context is {upload.size} bytes; builds accept at most {settings.BUILD_CONTEXT_MAX_BYTES}."
            )
        return upload
