from django.apps import AppConfig


class SpoolsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "spools"
