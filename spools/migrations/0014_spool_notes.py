# Notes on a spool (issue 15 item 5): the Note model only.

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("spools", "0013_worker_credencial"),
    ]

    operations = [
        migrations.CreateModel(
            name="Note",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("tag", models.CharField(max_length=100, verbose_name="TAG_SPOOL")),
                ("texto", models.TextField()),
                ("author", models.CharField(blank=True, max_length=150, verbose_name="autor")),
                ("worker_id", models.PositiveIntegerField(blank=True, null=True)),
                ("account", models.CharField(blank=True, max_length=150)),
                ("created", models.DateTimeField(default=django.utils.timezone.now)),
                ("line", models.TextField()),
                ("from_sheet", models.BooleanField(default=False)),
                ("written_at", models.DateTimeField(blank=True, null=True)),
                ("not_written", models.CharField(blank=True, max_length=300)),
                (
                    "event",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="note",
                        to="spools.event",
                    ),
                ),
            ],
            options={
                "verbose_name": "nota",
                "verbose_name_plural": "notas",
                "ordering": ["-created", "-pk"],
                "indexes": [
                    models.Index(fields=["tag", "created"], name="spools_note_tag_9d836a_idx")
                ],
            },
        ),
    ]
