"""The filters every supervision page takes (desde, hasta, ot, nv, worker), and the
querysets they narrow: unions, events and spools of the chosen OT / NV / worker."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone

from spools.models import Event, Spool, Union, Worker
from spools.selectors import day_bounds

DEFAULT_DAYS = 14  # the last two weeks, today included
MAX_DAYS = 2 * 366 + 1  # two years of events is what the mirror holds and the bench measures


class FilterForm(forms.Form):
    """The query string of a supervision page; every field optional."""

    desde = forms.DateField(
        required=False, input_formats=["%Y-%m-%d"], error_messages={"invalid": "fecha inválida"}
    )
    hasta = forms.DateField(
        required=False, input_formats=["%Y-%m-%d"], error_messages={"invalid": "fecha inválida"}
    )
    ot = forms.CharField(required=False, max_length=60, strip=True)
    nv = forms.CharField(required=False, max_length=60, strip=True)
    worker = forms.IntegerField(
        required=False, min_value=0, error_messages={"invalid": "Id de trabajador inválido"}
    )

    def clean(self) -> dict:
        data = super().clean()
        hasta = data.get("hasta") or timezone.localdate()
        desde = data.get("desde") or hasta - timedelta(days=DEFAULT_DAYS - 1)
        if desde > hasta:
            raise forms.ValidationError("La fecha «desde» es posterior a «hasta».")
        if (hasta - desde).days >= MAX_DAYS:
            raise forms.ValidationError("El período no puede superar dos años.")
        data["desde"], data["hasta"] = desde, hasta
        return data

    def error_text(self) -> str:
        """Every error in one Spanish sentence: `desde: fecha inválida`."""
        parts = []
        for name, errors in self.errors.items():
            prefix = "" if name == "__all__" else f"{name}: "
            parts += [f"{prefix}{e}" for e in errors]
        return "; ".join(parts)


@dataclass(frozen=True)
class Filters:
    desde: date
    hasta: date
    ot: str = ""
    nv: str = ""
    worker: int | None = None

    @classmethod
    def from_form(cls, form: FilterForm) -> Filters:
        d = form.cleaned_data
        return cls(d["desde"], d["hasta"], d.get("ot") or "", d.get("nv") or "", d.get("worker"))

    @classmethod
    def last_days(cls, days: int = DEFAULT_DAYS, **others: object) -> Filters:
        today = timezone.localdate()
        return cls(today - timedelta(days=days - 1), today, **others)

    @property
    def start(self) -> datetime:
        """The first instant of `desde` in plant time."""
        return day_bounds(self.desde)[0]

    @property
    def end(self) -> datetime:
        """The first instant after `hasta` (the period is [start, end))."""
        return day_bounds(self.hasta)[1]

    @property
    def days(self) -> list[date]:
        return [self.desde + timedelta(days=i) for i in range((self.hasta - self.desde).days + 1)]

    @property
    def by_spool(self) -> bool:
        return bool(self.ot or self.nv)

    def query(self) -> dict[str, str]:
        """The filters as a query string's fields (for the export links)."""
        q = {"desde": self.desde.isoformat(), "hasta": self.hasta.isoformat()}
        for name in ("ot", "nv", "worker"):
            value = getattr(self, name)
            if value not in ("", None):
                q[name] = str(value)
        return q

    # --- narrowing ---------------------------------------------------------------------

    def spools(self, qs: QuerySet[Spool] | None = None) -> QuerySet[Spool]:
        qs = Spool.objects.all() if qs is None else qs
        if self.ot:
            qs = qs.filter(ot=self.ot)
        if self.nv:
            qs = qs.filter(nv=self.nv)
        return qs

    def _tags(self) -> QuerySet:
        return self.spools().values("tag")

    def unions(self, qs: QuerySet[Union] | None = None) -> QuerySet[Union]:
        qs = Union.objects.all() if qs is None else qs
        return qs.filter(tag__in=self._tags()) if self.by_spool else qs

    def events(
        self, qs: QuerySet[Event] | None = None, *, in_period: bool = True, by_worker: bool = False
    ) -> QuerySet[Event]:
        """Events of the period (by default) of the chosen spools; of the chosen worker too
        with `by_worker` (pauses: who paused)."""
        qs = Event.objects.all() if qs is None else qs
        if in_period:
            qs = qs.filter(timestamp__gte=self.start, timestamp__lt=self.end)
        if self.by_spool:
            qs = qs.filter(tag__in=self._tags())
        if by_worker and self.worker is not None:
            qs = qs.filter(worker_id=self.worker)
        return qs

    def worker_q(self, field: str) -> Q:
        """Q narrowing `field` (a worker id column) to the chosen worker, or nothing."""
        return Q(**{field: self.worker}) if self.worker is not None else Q()


def worker_choices() -> list[tuple[int, str]]:
    """(Id, `MR(93) Mario Rojas`) of every worker, for the filter's list."""
    return [(w.id, str(w)) for w in Worker.objects.order_by("nombre", "apellido", "id")]
