from django.apps import AppConfig


class OccupationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "occupation"
    verbose_name = "Ocupación (tabletas)"

    def ready(self) -> None:
        from occupation import signals  # noqa: F401 - connects the receivers
