"""Login failure limits (django-axes): a Supervisor sees the failed attempts in the admin and
unlocks an account or an address by deleting them."""

import importlib

from django.db import migrations

GRANTS = {"Supervisor": ["axes.view_accessattempt", "axes.delete_accessattempt"]}

# The same grant procedure as the union permissions.
_union_grants = importlib.import_module("spools.migrations.0006_union_permissions")


def grant(apps, schema_editor):
    _union_grants.grant_all(apps, GRANTS)


def revoke(apps, schema_editor):
    _union_grants.revoke_all(apps, GRANTS)


class Migration(migrations.Migration):
    dependencies = [
        ("axes", "0010_accessattemptexpiration"),
        ("spools", "0011_supervision_permission"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
