from django.apps import AppConfig


class SpoolsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "spools"

    def ready(self) -> None:
        from spools import checks, realtime  # noqa: F401 - registers checks and receivers

        realtime.connect_access_receivers()
