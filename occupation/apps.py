from django.apps import AppConfig


class OccupationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "occupation"
