"""The idempotency table stays small (issue 14, item 8): a refused request stores nothing
and takes no write lock, and outcomes past RETENTION are forgotten, at most once an hour,
while recent ones still replay."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from occupation.models import ActionRequest
from occupation.services import PRUNE_SLACK, RETENTION
from spools.models import Event
from tests.plant import (
    APPROVED,
    ARM_DONE,
    ARM_IN_PROGRESS,
    ARM_PAUSED,
    ARM_PENDING,
    NO_MATERIALS,
    act,
    new_request_id,
)

pytestmark = pytest.mark.django_db

WRITES = ("INSERT", "UPDATE", "DELETE", "SAVEPOINT", "BEGIN")


def writes_in(queries: CaptureQueriesContext) -> list[str]:
    return [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith(WRITES) or "FOR UPDATE" in q["sql"].upper()
    ]


def test_a_flood_of_refused_requests_stores_nothing_and_takes_no_write_lock(plant, station):
    # 50 spools TOMAR ARM cannot take: no materials, taken, done, approved, or unknown.
    refused = [NO_MATERIALS, ARM_IN_PROGRESS, ARM_DONE, APPROVED]
    tags = refused + [f"MK-NO-EXISTE-{i:03d}" for i in range(46)]
    with CaptureQueriesContext(connection) as queries:
        answers = [
            act(station, "ARM", "TOMAR", 100, *tags, request_id=new_request_id()) for _ in range(20)
        ]
    assert {a.status_code for a in answers} == {400}  # the first failure's: no materials
    assert "No existe el spool MK-NO-EXISTE-000" in answers[0].text
    assert "ocupado por MR(93)" in answers[0].text
    assert len(queries.captured_queries) > 20  # the requests were read, and answered
    assert ActionRequest.objects.count() == 0
    assert writes_in(queries) == []
    assert not Event.objects.exists()


def test_a_refused_request_has_no_result_page_to_refresh(plant, station):
    rid = new_request_id()
    data = {"operacion": "ARM", "accion": "TOMAR", "worker": 100, "tags": [NO_MATERIALS]}
    answer = station.post("/acciones/", {**data, "request_id": rid}, HTTP_HX_REQUEST="true")
    assert answer.status_code == 400
    assert "HX-Push-Url" not in answer
    assert station.get(f"/t/resultado/{rid}/").status_code == 404


def test_a_refused_request_retried_once_the_spool_is_free_is_done_once(plant, station):
    rid = new_request_id()
    assert act(station, "ARM", "TOMAR", 100, ARM_IN_PROGRESS, request_id=rid).status_code == 409
    assert act(station, "ARM", "PAUSAR", 93, ARM_IN_PROGRESS).status_code == 200
    assert act(station, "ARM", "TOMAR", 100, ARM_IN_PROGRESS, request_id=rid).status_code == 200
    again = act(station, "ARM", "TOMAR", 100, ARM_IN_PROGRESS, request_id=rid)
    assert again.status_code == 200  # replayed
    assert Event.objects.filter(tag=ARM_IN_PROGRESS, evento_tipo="TOMAR_SPOOL").count() == 1


def age(request_id: str, by: timedelta) -> None:
    ActionRequest.objects.filter(pk=request_id).update(created_at=timezone.now() - by)


def test_old_outcomes_are_pruned_while_recent_ones_still_replay(plant, station):
    old, recent = new_request_id(), new_request_id()
    assert act(station, "ARM", "TOMAR", 100, ARM_PENDING, request_id=old).status_code == 200
    assert act(station, "ARM", "TOMAR", 96, ARM_PAUSED, request_id=recent).status_code == 200
    age(old, RETENTION + timedelta(days=10))
    age(recent, RETENTION - timedelta(days=1))  # an offline tablet resending late

    act(station, "ARM", "PAUSAR", 100, ARM_PENDING, request_id=new_request_id())

    assert not ActionRequest.objects.filter(pk=old).exists()
    events = Event.objects.count()
    replay = act(station, "ARM", "TOMAR", 96, ARM_PAUSED, request_id=recent)
    assert replay.status_code == 200
    assert f"{ARM_PAUSED}: tomado por PS(96)" in replay.text
    assert Event.objects.count() == events  # replayed, not done again


@pytest.mark.parametrize(
    "past_retention, pruned",
    [(PRUNE_SLACK / 2, False), (PRUNE_SLACK + timedelta(minutes=1), True)],
)
def test_pruning_waits_until_the_oldest_is_an_hour_past_retention(
    plant, station, past_retention, pruned
):
    """So the delete runs at most once an hour, however many actions come in."""
    rid = new_request_id()
    assert act(station, "ARM", "TOMAR", 100, ARM_PENDING, request_id=rid).status_code == 200
    age(rid, RETENTION + past_retention)
    act(station, "ARM", "PAUSAR", 100, ARM_PENDING, request_id=new_request_id())
    assert ActionRequest.objects.filter(pk=rid).exists() is not pruned
