from django.db import migrations, models
from django.utils import timezone


def backfill_versions(apps, schema_editor):
    OutboxEntry = apps.get_model("spools", "OutboxEntry")
    for entry in OutboxEntry.objects.exclude(cells={}).iterator():
        version = (entry.cells or {}).get("version", "")
        if version:
            OutboxEntry.objects.filter(pk=entry.pk).update(version=version)


class Migration(migrations.Migration):
    dependencies = [("spools", "0002_groups")]

    operations = [
        migrations.AddField(
            model_name="outboxentry",
            name="version",
            field=models.CharField(blank=True, db_index=True, max_length=64),
        ),
        migrations.RunPython(backfill_versions, migrations.RunPython.noop),
        migrations.CreateModel(
            name="SyncRequest",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(default=timezone.now)),
                ("pull", models.BooleanField(default=False)),
                ("outbox_upto", models.PositiveBigIntegerField(default=0)),
                ("served_at", models.DateTimeField(blank=True, null=True)),
                ("error", models.TextField(blank=True)),
            ],
            options={
                "verbose_name": "pedido de sincronización",
                "verbose_name_plural": "pedidos de sincronización",
            },
        ),
    ]
