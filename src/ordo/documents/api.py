"""HTTP for printed documents: each answers ``application/pdf`` (inline, with a file name)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from ordo.documents.printing import DocumentKind, filename, print_document
from ordo.entrypoints.api.deps import CurrentActor, OrdoApp

router = APIRouter(tags=["documents"])


class PdfResponse(Response):
    media_type = "application/pdf"


_PDF = {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}
_FONT = {503: {"description": "The PDF font is missing or unusable (ORDO_PDF_FONT)"}}


def _pdf(ordo: OrdoApp, kind: DocumentKind, number: str, actor: CurrentActor) -> PdfResponse:
    body = print_document(ordo, kind, number, actor)
    return PdfResponse(body, headers={"Content-Disposition": f'inline; filename="{filename(kind, number)}"'})


@router.get("/orders/{number}/confirmation.pdf", response_class=PdfResponse,
            responses={200: _PDF, 404: {"description": "No such order in your scope"}, **_FONT})
def order_confirmation(number: str, ordo: OrdoApp, actor: CurrentActor) -> PdfResponse:
    """The customer order confirmation: order number, customer, goods, service, charges, expected times."""
    return _pdf(ordo, DocumentKind.CONFIRMATION, number, actor)


@router.get("/shipments/{number}/packing-slip.pdf", response_class=PdfResponse,
            responses={200: _PDF, 404: {"description": "No such shipment in your scope"}, **_FONT})
def packing_slip(number: str, ordo: OrdoApp, actor: CurrentActor) -> PdfResponse:
    """What the parcel holds (SKU, name, quantity), the recipient and the packing instructions."""
    return _pdf(ordo, DocumentKind.PACKING_SLIP, number, actor)


@router.get("/shipments/{number}/label.pdf", response_class=PdfResponse,
            responses={200: _PDF, 404: {"description": "No such shipment in your scope"},
                       409: {"description": "The shipment has no tracking number yet"}, **_FONT})
def shipping_label(number: str, ordo: OrdoApp, actor: CurrentActor) -> PdfResponse:
    """The 100 × 150 mm label: Code128 of the tracking number and a QR code (tracking;shipment)."""
    return _pdf(ordo, DocumentKind.LABEL, number, actor)


@router.get("/pick-lists/{number}.pdf", response_class=PdfResponse,
            responses={200: _PDF, 404: {"description": "No such pick list in your scope"}, **_FONT})
def pick_list(number: str, ordo: OrdoApp, actor: CurrentActor) -> PdfResponse:
    """The pick list in route order with bin, SKU, name, quantity, shipment and the route length."""
    return _pdf(ordo, DocumentKind.PICK_LIST, number, actor)
