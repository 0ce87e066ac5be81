"""After a commit that changed spools, republish the dashboard (coalesced)."""

from django.dispatch import receiver

from dashboard.live import publisher
from spools.signals import spools_changed


@receiver(spools_changed)
def republish_dashboard(sender, **kwargs) -> None:
    publisher.changed()
