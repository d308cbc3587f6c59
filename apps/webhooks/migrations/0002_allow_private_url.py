"""Bind an operator's private-target exception to the URL it approved.

Exceptions granted before this migration cannot tell which URL they approved (the URL may have been
changed since), so they lapse: an operator allows the endpoint again, for the URL it has now.
"""

from django.db import migrations, models


def lapse_unbound_exceptions(apps, schema_editor):
    apps.get_model("webhooks", "WebhookEndpoint").objects.filter(allow_private=True).update(allow_private=False)


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="webhookendpoint",
            name="allow_private_url",
            field=models.CharField(
                blank=True, editable=False, help_text="The URL the operator's allow_private approved.", max_length=500
            ),
        ),
        migrations.RunPython(lapse_unbound_exceptions, migrations.RunPython.noop),
    ]
