"""One entry for every printed document, shared by the API and the CLI: read the document in a
read-only unit of work, then render it outside the transaction."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from ordo.adapters.carriers.base import CarrierError
from ordo.auth.model import Actor
from ordo.bootstrap import Ordo
from ordo.documents import pdf, queries
from ordo.kernel.errors import Unavailable
from ordo.policy import Policy
from ordo.settings import Settings


class DocumentKind(StrEnum):
    CONFIRMATION = "confirmation"
    PACKING_SLIP = "packing-slip"
    LABEL = "label"
    PICK_LIST = "pick-list"


def font_of(settings: Settings) -> pdf.DocumentFont:
    return pdf.load_font(settings.pdf_font, settings.pdf_font_index)


Builder = Callable[[Session, str, Actor, Policy, datetime], Any]

# What each document is read by and rendered with.
_DOCUMENTS: dict[DocumentKind, tuple[Builder, Callable[[Any, pdf.DocumentFont], bytes]]] = {
    DocumentKind.CONFIRMATION: (queries.confirmation_doc, pdf.render_confirmation),
    DocumentKind.PACKING_SLIP: (queries.packing_slip_doc, pdf.render_packing_slip),
    DocumentKind.LABEL: (queries.label_doc, pdf.render_label),
    DocumentKind.PICK_LIST: (lambda s, n, a, p, _now: queries.pick_list_doc(s, n, a, p), pdf.render_pick_list),
}


def print_document(ordo: Ordo, kind: DocumentKind, number: str, actor: Actor) -> bytes:
    """The PDF of one document. The font is checked first, so a misconfigured server answers 503
    whatever is asked."""
    font = font_of(ordo.settings)
    build, render = _DOCUMENTS[kind]
    with ordo.reading() as uow:
        doc = build(uow.session, number, actor, uow.policy, uow.clock.now())
    if kind == DocumentKind.LABEL:
        # A carrier that issues its own labels (its barcodes, its routing codes) is printed as is.
        try:
            own = ordo.carriers.get(doc.carrier).label(doc.tracking_number)
        except CarrierError as exc:
            raise Unavailable("carrier_label_failed", carrier=doc.carrier, shipment=doc.shipment,
                              detail=str(exc)) from None
        if own is not None:
            return own
    return render(doc, font)


def filename(kind: DocumentKind, number: str) -> str:
    return f"{kind.value}-{number}.pdf"
