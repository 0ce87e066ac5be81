"""Notes on a spool (issue 15 item 5): append-only lines of the Operaciones `Notas` cell.

Adding a note is one transaction: the Note, its NOTA_AGREGADA event (the Metadata row) and
the outbox entry that appends its line `YYYY-MM-DD HH:MM MR(93): texto` to the row's Notas
cell, all through `record_change`. The flush merges that line into what the cell holds when
it writes (spools.workbook.flush._build_notes): a line the office typed meanwhile is kept,
and a retried flush never adds the line twice. The pull reads the lines others typed into
the cell back as the spool's office notes (spools.workbook.pull._apply_sheet_notes).

A workbook without the Notas column keeps notes in the app and on the spool page (each says
so), and still gets their Metadata rows.
"""

from __future__ import annotations

from django import forms
from django.db import transaction
from django.utils import timezone

from spools.lifecycle import EventoTipo
from spools.models import Note, Spool, Worker
from spools.overrides import supervisor_nombre
from spools.rules import ActionError
from spools.services import lock_spool
from spools.workbook.outbox import record_change
from spools.workbook.rows import note_line
from spools.workbook.sync import kick

NOTE_MAX_CHARS = 500


class NoteForm(forms.Form):
    """`POST /spools/<TAG>/notas/`: `texto` (1–500 characters) and an optional `worker`."""

    texto = forms.CharField(
        required=False,
        strip=True,
        error_messages={"null_characters_not_allowed": "Texto no válido."},
    )
    worker = forms.IntegerField(
        required=False,
        min_value=1,
        error_messages={
            "invalid": "Trabajador no válido: se espera su Id (un número).",
            "min_value": "Trabajador no válido: se espera su Id (un número).",
        },
    )

    def clean_texto(self) -> str:
        # One line in the cell: newlines and runs of spaces become one space.
        texto = " ".join(self.cleaned_data["texto"].split())
        if not texto:
            raise forms.ValidationError("Escriba la nota: no puede ir vacía.")
        if len(texto) > NOTE_MAX_CHARS:
            raise forms.ValidationError(
                f"La nota tiene {len(texto)} caracteres: el máximo es {NOTE_MAX_CHARS}."
            )
        return texto

    def first_error(self) -> str:
        """The first message, in the order of the fields (one line for the screen)."""
        for name in (*self.fields, "__all__"):
            if name in self.errors:
                return self.errors[name][0]
        return "Datos no válidos."


def add_note(tag: str, texto: str, *, worker_id: int | None, account: str) -> Note:
    """Add a note to the spool `tag`, signed by the worker (their short name) or else the
    account, and queue its line and Metadata row. `texto` is a NoteForm's clean text.

    The same line twice (a double tap: same author, text and minute) is the note already
    added, not a second one. Raises ActionError 404 for an unknown spool or worker.
    """
    now = timezone.now()
    with transaction.atomic():
        spool = lock_spool(tag)  # one note at a time per spool: the double tap sees the first
        worker = _worker(worker_id)
        author = worker.short if worker else account
        line = note_line(now, author, texto)
        same = Note.objects.filter(tag=spool.tag, line=line, from_sheet=False).first()
        if same is not None:
            return same
        event = record_change(
            None,
            None,
            tag=spool.tag,
            evento_tipo=EventoTipo.NOTA_AGREGADA,
            operacion="",
            accion="",
            worker_id=worker.id if worker else None,
            worker_nombre=worker.short if worker else supervisor_nombre(account),
            meta={"texto": texto, "autor": author, "cuenta": account},
            account=account,
            now=now,
            note_line=line,
        )
        note = Note.objects.create(
            tag=spool.tag,
            texto=texto,
            author=author,
            worker_id=worker.id if worker else None,
            account=account,
            created=now,
            line=line,
            event=event,
        )
        # The sync loop writes it now. No broadcast: a note changes no list or count, and
        # a tablet's row pushed again would close the note form just used on it.
        transaction.on_commit(kick)
    return note


def _worker(worker_id: int | None) -> Worker | None:
    if worker_id is None:
        return None
    worker = Worker.objects.filter(pk=worker_id).first()
    if worker is None:
        raise ActionError(404, f"No existe el trabajador {worker_id}.", "trabajador_desconocido")
    return worker


def can_add_notes(user, spool: Spool) -> bool:
    """Whether this account may add a note here: a spool gone from the sheet has no cell."""
    return user.has_perm("spools.perform_actions") and spool.sheet_row is not None


def notes_of(spool: Spool) -> list[Note]:
    """The spool's notes, newest first: the app's and the lines typed into its cell."""
    return list(Note.objects.filter(tag=spool.tag).order_by("-created", "-pk"))
