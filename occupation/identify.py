"""Who is at the tablet (issue 15): a badge scan, a PIN, or a name picked from the list.

- A badge (Trabajadores' optional Credencial) picks its worker at once: `worker_by_badge`.
  A station that reads MAX_BADGE_MISSES unknown codes within BADGE_WINDOW has its badge
  reads refused for BADGE_LOCKOUT (`identify_badge`): codes cannot be tried one after another.
- With ZEUES_WORKER_PIN on, a worker picked from the list types a PIN: `check_pin`. Only
  its hash is kept (Django's password hashers), in the database, never in the workbook;
  MAX_TRIES wrong tries lock it for LOCKOUT, counted atomically in the database so tries
  sent at the same instant can never test more PINs than that.
- How the worker was identified travels with the flow as a signed token (`token_for`,
  `identified_by`): in the step URLs and the confirmation form, so the action's Metadata row
  says `identificado_por` and a deep link cannot skip the PIN. It is valid for a whole
  working day: an offline tablet may resend its confirmation hours later.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.core import signing
from django.db.models import Case, F, Value, When
from django.utils import timezone

from occupation.models import BadgeGuard, WorkerPin
from spools.lifecycle import Operacion
from spools.models import Worker
from spools.rules import ActionError

BADGE, PIN, LISTA = "badge", "pin", "lista"
PROVEN = (BADGE, PIN)  # the methods a token can carry; the list proves nothing
TOKEN_MAX_AGE = timedelta(hours=12)
_SALT = "occupation.identificacion"
MAX_TRIES = 5
LOCKOUT = timedelta(minutes=15)
MAX_BADGE_MISSES = 20  # unknown codes at one station within BADGE_WINDOW (a typo is not a guess)
BADGE_WINDOW = timedelta(minutes=10)
BADGE_LOCKOUT = timedelta(minutes=10)
PIN_PATTERN = re.compile(r"^[0-9]{4,6}$")
DIGITS = re.compile(r"^[0-9]+$")


def pin_required() -> bool:
    """The plant's setting: a worker picked from the list confirms with a PIN."""
    return bool(settings.ZEUES_WORKER_PIN)


# --- the token ---------------------------------------------------------------------------


def token_for(worker_id: int, method: str, account: str) -> str:
    """A signed, timestamped note: this station identified this worker by `method`."""
    return signing.dumps({"w": worker_id, "m": method, "a": account}, salt=_SALT)


def identified_by(token: str, worker_id: int, account: str) -> str:
    """`badge` or `pin` from a valid token for this worker and station, else `lista`."""
    if not token or len(token) > 500:
        return LISTA
    try:
        data = signing.loads(token, salt=_SALT, max_age=TOKEN_MAX_AGE)
    except signing.BadSignature:  # tampered, or older than TOKEN_MAX_AGE
        return LISTA
    if not isinstance(data, dict) or data.get("w") != worker_id or data.get("a") != account:
        return LISTA
    method = data.get("m")
    return method if method in PROVEN else LISTA


# --- the badge ---------------------------------------------------------------------------


def _canonical(digits: str) -> str:
    return digits.lstrip("0") or "0"


def _badge_matches(code: str) -> list[Worker]:
    """Workers whose Credencial is the code: exact text first; then, for a code of digits,
    ignoring leading zeros (a badge typed into a number cell loses them). Active matches win."""
    exact = list(Worker.objects.filter(credencial=code))
    if any(w.activo for w in exact) or not DIGITS.match(code):
        return exact
    canonical = _canonical(code)
    near = [
        w
        for w in Worker.objects.filter(credencial__endswith=canonical)
        if DIGITS.match(w.credencial) and _canonical(w.credencial) == canonical
    ]
    return near if any(w.activo for w in near) or not exact else exact


def worker_by_badge(operacion: str, code: str) -> Worker:
    """The one active worker carrying this badge, allowed on the operation; else an
    ActionError in Spanish that never repeats the code."""
    code = code.strip()[:120]
    if not code:
        raise ActionError(400, "No se leyó ninguna credencial.", "credencial_vacia")
    matches = _badge_matches(code)
    active = [w for w in matches if w.activo]
    if len(active) > 1:
        raise ActionError(
            409,
            "Esta credencial está asignada a más de un trabajador: pida a un supervisor que "
            "la corrija. Mientras tanto, elija su nombre en la lista.",
            "credencial_repetida",
        )
    if not active:
        if matches:
            raise ActionError(
                403,
                "Esta credencial es de un trabajador que no está activo: pida a un supervisor.",
                "credencial_inactiva",
            )
        raise ActionError(
            404,
            "Credencial no reconocida. Elija su nombre en la lista o pida a un supervisor "
            "que registre su credencial.",
            "credencial_desconocida",
        )
    worker = active[0]
    if not worker.can_work_on(operacion):
        label = Operacion(operacion).label
        raise ActionError(403, f"{worker.short} no tiene un rol para {label}.", "rol_no_permitido")
    return worker


def identify_badge(operacion: str, code: str, account: str, now: datetime | None = None) -> Worker:
    """`worker_by_badge` at the station `account`, which may read only so many unknown codes:
    the MAX_BADGE_MISSES-th within BADGE_WINDOW locks its badge reads for BADGE_LOCKOUT
    (429). Known badges, refused or not, are not guesses and do not count."""
    now = now or timezone.now()
    locked_until = _badge_locked_until(account, now)
    if locked_until is not None:
        raise _badge_locked(locked_until)
    try:
        return worker_by_badge(operacion, code)
    except ActionError as exc:
        if exc.code == "credencial_desconocida" and _count_miss(account, now):
            raise _badge_locked(now + BADGE_LOCKOUT) from None
        raise


def _badge_locked_until(account: str, now: datetime) -> datetime | None:
    guard = BadgeGuard.objects.filter(pk=account, locked_until__gt=now)
    return guard.values_list("locked_until", flat=True).first()


def _count_miss(account: str, now: datetime) -> bool:
    """Count an unknown code read at this station in one UPDATE (atomic across processes);
    True when it is the one that locks the station's badge reads."""
    BadgeGuard.objects.get_or_create(pk=account, defaults={"window_start": now})
    guards = BadgeGuard.objects.filter(pk=account)
    # A window (or a lock) that is over starts counting again.
    guards.filter(window_start__lte=now - BADGE_WINDOW, locked_until__isnull=True).update(
        misses=0, window_start=now
    )
    guards.filter(locked_until__lte=now).update(misses=0, window_start=now, locked_until=None)
    last = guards.filter(locked_until__isnull=True, misses__gte=MAX_BADGE_MISSES - 1)
    if last.update(misses=F("misses") + 1, locked_until=now + BADGE_LOCKOUT):
        return True
    counted = guards.filter(locked_until__isnull=True).update(misses=F("misses") + 1)
    return not counted  # a read at the same instant locked it first


def _badge_locked(until: datetime) -> ActionError:
    hora = timezone.localtime(until).strftime("%H:%M")
    return ActionError(
        429,
        "Demasiadas credenciales no reconocidas en esta tablet: el lector de credenciales "
        f"vuelve a funcionar a las {hora}. Mientras tanto, elija su nombre en la lista.",
        "credencial_bloqueada",
    )


# --- the PIN -----------------------------------------------------------------------------


def set_pin(worker: Worker, pin: str) -> WorkerPin:
    """A supervisor sets (or resets) a worker's PIN: stored hashed, tries and lock cleared."""
    record = WorkerPin.objects.filter(pk=worker.pk).first() or WorkerPin(worker=worker)
    record.set_pin(pin)
    record.save()
    return record


def unlock(worker_ids: list[int]) -> int:
    """A supervisor clears the lockout (and the wrong tries) of these workers' PINs."""
    return WorkerPin.objects.filter(worker_id__in=worker_ids).update(
        failed_tries=0, locked_until=None
    )


def _locked_error(until: datetime | None, wrong: bool = False) -> ActionError:
    first = "PIN incorrecto. " if wrong else ""
    if until is None:  # the instant between the last try and its lock
        return ActionError(
            403, f"{first}PIN bloqueado: pida a un supervisor que lo desbloquee.", "pin_bloqueado"
        )
    hora = timezone.localtime(until).strftime("%H:%M")
    return ActionError(
        403,
        f"{first}Bloqueado hasta las {hora}: pida a un supervisor que lo desbloquee.",
        "pin_bloqueado",
    )


def _reserve_try(worker: Worker, now: datetime) -> bool:
    """Count a try before checking it, in one UPDATE (atomic across processes): tries sent
    together are counted one by one, and the last allowed one locks the PIN until it turns
    out right. False when the PIN is locked."""
    pins = WorkerPin.objects.filter(pk=worker.pk)
    pins.filter(locked_until__lte=now).update(locked_until=None, failed_tries=0)  # lock over
    return bool(
        pins.filter(locked_until__isnull=True, failed_tries__lt=MAX_TRIES).update(
            failed_tries=F("failed_tries") + 1,
            locked_until=Case(
                When(failed_tries__gte=MAX_TRIES - 1, then=Value(now + LOCKOUT)),
                default=Value(None),
            ),
        )
    )


def _no_pin(worker: Worker) -> ActionError:
    return ActionError(
        403,
        f"{worker.short} no tiene PIN: pida a un supervisor que le asigne uno. "
        "Con su credencial puede entrar sin PIN.",
        "pin_sin_asignar",
    )


def pin_notice(worker: Worker, now: datetime | None = None) -> str:
    """Why this worker cannot type a PIN now (none set, or locked until when); else ""."""
    record = WorkerPin.objects.filter(pk=worker.pk).first()
    if record is None or not record.pin_hash:
        return _no_pin(worker).message
    if record.locked_at(now or timezone.now()):
        return _locked_error(record.locked_until).message
    return ""


def check_pin(worker: Worker, pin: str, now: datetime | None = None) -> None:
    """Accept the worker's PIN, or raise an ActionError saying why in Spanish (no PIN set,
    wrong with the tries left, locked until when)."""
    now = now or timezone.now()
    record = WorkerPin.objects.filter(pk=worker.pk).first()
    if record is None or not record.pin_hash:
        raise _no_pin(worker)
    if not _reserve_try(worker, now):
        locked_until = WorkerPin.objects.values_list("locked_until", flat=True).get(pk=worker.pk)
        raise _locked_error(locked_until)
    if PIN_PATTERN.match(pin) and check_password(pin, record.pin_hash):
        WorkerPin.objects.filter(pk=worker.pk).update(failed_tries=0, locked_until=None)
        return
    tries, locked_until = WorkerPin.objects.values_list("failed_tries", "locked_until").get(
        pk=worker.pk
    )
    if locked_until is not None or tries >= MAX_TRIES:
        raise _locked_error(locked_until, wrong=True)
    left = MAX_TRIES - tries
    quedan = "le queda 1 intento" if left == 1 else f"le quedan {left} intentos"
    raise ActionError(403, f"PIN incorrecto, {quedan}.", "pin_incorrecto")
