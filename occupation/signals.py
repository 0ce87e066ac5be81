"""After a commit that changed spools, tell the open tablet lists."""

from django.dispatch import receiver

from occupation.consumers import FLOOR_GROUP
from spools.realtime import send_to_group
from spools.signals import spools_changed


@receiver(spools_changed)
def push_to_tablets(sender, tags: list[str], **kwargs) -> None:
    send_to_group(FLOOR_GROUP, {"type": "spools.changed", "tags": list(tags)})
