"""The account groups of product.md: Estación (floor tablet), Pantalla (wall TV), Supervisor."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUPS = {
    "Estación": [
        "spools.perform_actions",
        "spools.view_dashboard",
        "spools.view_spool",
    ],
    "Pantalla": [
        "spools.view_dashboard",
        "spools.view_spool",
    ],
    "Supervisor": [
        "spools.perform_actions",
        "spools.view_dashboard",
        "spools.override_spool",
        "spools.view_spool",
        "spools.view_worker",
        "spools.view_role",
        "spools.view_event",
    ],
}


def create_groups(apps, schema_editor):
    # Permissions are normally created after all migrations; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, perms in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        for perm in perms:
            app_label, codename = perm.split(".")
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("spools", "0001_mirror"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
