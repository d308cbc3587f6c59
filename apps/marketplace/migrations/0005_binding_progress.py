import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("marketplace", "0004_instance_usage"),
    ]

    operations = [
        migrations.AddField(
            model_name="servicebinding",
            name="last_operation",
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name="servicebinding",
            name="pending_username",
            field=models.CharField(
                blank=True,
                help_text="The credential a rotation is making: named before the provider is called, so an "
                "interrupted rotation's credential is found and revoked.",
                max_length=100,
            ),
        ),
        migrations.AddField(
            model_name="servicebinding",
            name="updated_at",
            field=models.DateTimeField(auto_now=True, default=django.utils.timezone.now),
            preserve_default=False,
        ),
    ]
