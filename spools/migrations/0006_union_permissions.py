"""Union definitions (uniones.md): Estación and Supervisor may add, change and delete unions
(`spools.change_union`); Pantalla only looks."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {
    "Estación": ["spools.change_union"],
    "Supervisor": ["spools.change_union"],
}


def _permission(apps, perm: str):
    Permission = apps.get_model("auth", "Permission")
    app_label, codename = perm.split(".")
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


def grant_all(apps, grants: dict[str, list[str]]) -> None:
    # A permission added with a model (or its Meta) exists only after post_migrate.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    for name, perms in grants.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*(_permission(apps, p) for p in perms))


def revoke_all(apps, grants: dict[str, list[str]]) -> None:
    Group = apps.get_model("auth", "Group")
    for group in Group.objects.filter(name__in=grants):
        group.permissions.remove(*(_permission(apps, p) for p in grants[group.name]))


def grant(apps, schema_editor):
    grant_all(apps, GRANTS)


def revoke(apps, schema_editor):
    revoke_all(apps, GRANTS)


class Migration(migrations.Migration):
    dependencies = [
        ("spools", "0005_unions"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
