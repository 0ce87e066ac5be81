from django.apps import AppConfig


class SupervisionConfig(AppConfig):
    """Shift-meeting questions answered from the mirror: productivity, quality, flow, pauses."""

    name = "supervision"
    verbose_name = "Supervisión"
