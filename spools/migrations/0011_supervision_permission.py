"""Supervision reports (`/supervision/`): Supervisor only; stations and the wall TV do not
see them (`spools.view_supervision`). Supervisors also see the sync state in the admin (the
error details /healthz does not publish)."""

import importlib

from django.db import migrations

GRANTS = {"Supervisor": ["spools.view_supervision", "spools.view_syncstate"]}

# The same grant procedure as the union permissions.
_union_grants = importlib.import_module("spools.migrations.0006_union_permissions")


def grant(apps, schema_editor):
    _union_grants.grant_all(apps, GRANTS)


def revoke(apps, schema_editor):
    _union_grants.revoke_all(apps, GRANTS)


class Migration(migrations.Migration):
    dependencies = [
        ("spools", "0010_syncstate_error_kind"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="spool",
            options={
                "ordering": ["tag"],
                "permissions": [
                    ("perform_actions", "Puede registrar acciones de la tableta"),
                    ("view_dashboard", "Puede ver el dashboard"),
                    ("override_spool", "Puede desbloquear y liberar spools (supervisor)"),
                    ("view_supervision", "Puede ver los informes de supervisión"),
                ],
            },
        ),
        migrations.RunPython(grant, revoke),
    ]
