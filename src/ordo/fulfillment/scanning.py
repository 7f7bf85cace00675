"""Scans of a shipment's goods, stored one row each, and the step guards they feed.

A pick-stage scan is taken while the shipment is being picked, a check-stage scan once it is
picked. Every scan is stored, a refused one with its reason and nothing counted; the caller answers
the refusal (409) after the transaction has kept the row. ``finish_pick`` waits for the pick stage to
add up, ``check`` for the check stage — and the checker must be a second person, not one who
scanned the pick (000: "a checker verifies again").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ordo.auth.model import Actor, Permission
from ordo.bootstrap import UnitOfWork
from ordo.catalog.tables import Sku
from ordo.fulfillment.handlers import guard
from ordo.fulfillment.schemas import ScanIn, ScanRead, ScanStage, ScanSummary, StageProgress
from ordo.fulfillment.states import ShipmentStatus, ShipmentTrigger
from ordo.fulfillment.tables import Shipment, ShipmentLine, ShipmentScan
from ordo.fulfillment.verification import ScanRefusal, ScanResult, ScanSheet
from ordo.inventory.tables import Warehouse
from ordo.kernel.checks import Checks
from ordo.kernel.errors import Conflict, NotFound

MAX_SCAN_QUANTITY = 10_000
SAME_PERSON = "check_same_person"
STAGE_STATE = {ScanStage.PICK: ShipmentStatus.PICKING, ScanStage.CHECK: ShipmentStatus.PICKED}
STAGE_PERMISSION = {ScanStage.PICK: Permission.SHIPMENT_PICK, ScanStage.CHECK: Permission.SHIPMENT_CHECK}


def units(counts: Mapping[str, int]) -> str:
    """``{"MUG-002": 1, "TEA-001": 2}`` → ``MUG-002 × 1, TEA-001 × 2``."""
    return ", ".join(f"{sku} × {q}" for sku, q in sorted(counts.items())) or "-"


def load_shipment(session: Session, number: str, actor: Actor, *, for_update: bool = False) -> Shipment:
    statement = select(Shipment).where(Shipment.number == number)
    shipment = session.scalars(statement.with_for_update() if for_update else statement).one_or_none()
    if shipment is None:
        raise NotFound("shipment", number)
    if actor.warehouses:
        code = session.scalar(select(Warehouse.code).where(Warehouse.id == shipment.warehouse_id))
        if code not in actor.warehouses:
            raise NotFound("shipment", number)
    return shipment


def expected_units(session: Session, shipment: Shipment) -> dict[str, int]:
    rows = session.execute(
        select(Sku.code, func.sum(ShipmentLine.quantity))
        .join(Sku, Sku.id == ShipmentLine.sku_id)
        .where(ShipmentLine.shipment_id == shipment.id)
        .group_by(Sku.code)
    )
    return {code: int(q) for code, q in rows}


@dataclass(frozen=True)
class StageState:
    sheet: ScanSheet
    by: list[str]  # who scanned (accepted), in order of first scan


def stage_state(session: Session, shipment: Shipment, stage: ScanStage) -> StageState:
    sheet = ScanSheet(expected=expected_units(session, shipment))
    by: list[str] = []
    rows = session.execute(
        select(Sku.code, ShipmentScan.quantity, ShipmentScan.actor)
        .join(Sku, Sku.id == ShipmentScan.sku_id)
        .where(ShipmentScan.shipment_id == shipment.id, ShipmentScan.stage == stage,
               ShipmentScan.accepted.is_(True))
        .order_by(ShipmentScan.id)
    )
    for code, quantity, who in rows:
        sheet.scanned[code] = sheet.scanned.get(code, 0) + quantity
        if who not in by:
            by.append(who)
    return StageState(sheet, by)


def _barcodes(session: Session, barcode: str) -> dict[str, str]:
    """The SKU a scanned code names: its barcode, or the SKU code of goods that have no barcode."""
    sku = session.scalars(select(Sku).where(Sku.barcode == barcode)).first()
    if sku is None:
        sku = session.scalars(select(Sku).where(Sku.code == barcode, Sku.barcode.is_(None))).first()
    return {barcode: sku.code} if sku is not None else {}


@dataclass(frozen=True)
class ScanOutcome:
    scan: ScanRead
    refusal: Conflict | None

    def raise_if_refused(self) -> ScanRead:
        """Call after the transaction that stored the scan has committed."""
        if self.refusal is not None:
            raise self.refusal
        return self.scan


def _refusal(result: ScanResult, shipment: Shipment, stage: ScanStage, expected: Mapping[str, int],
             barcode: str, quantity: int) -> Conflict:
    assert result.refusal is not None
    params: dict[str, Any] = {"shipment": shipment.number, "stage": stage.value, "barcode": barcode,
                              "quantity": quantity, "sku": result.sku, "expected": units(expected)}
    if result.refusal == ScanRefusal.TOO_MANY:
        params.update(expected=result.detail["expected"], scanned=result.detail["scanned"])
    return Conflict(result.refusal.value, **params)


def record_scan(uow: UnitOfWork, *, shipment: str, body: ScanIn, actor: Actor) -> ScanOutcome:
    """Store one scan. Bad input (422), a missing permission or a shipment not at this stage (409)
    write nothing; a refused scan is stored as refused and answered by ``raise_if_refused``."""
    values = body.model_dump()
    checks = Checks()
    barcode = checks.text(values, "barcode")
    quantity = checks.whole(values, "quantity", low=1, high=MAX_SCAN_QUANTITY, default=1)
    if body.stage is None:
        checks.add("stage", "required")
    checks.raise_any()
    assert barcode is not None and body.stage is not None
    stage = ScanStage(body.stage)
    actor.require(STAGE_PERMISSION[stage])
    session, now = uow.session, uow.clock.now()
    row = load_shipment(session, shipment, actor, for_update=True)
    if row.status != STAGE_STATE[stage]:
        raise Conflict("scan_wrong_state", shipment=row.number, state=row.status, stage=stage.value,
                       needed=STAGE_STATE[stage].value)
    state = stage_state(session, row, stage)
    barcodes = _barcodes(session, barcode)
    pickers = stage_state(session, row, ScanStage.PICK).by if stage == ScanStage.CHECK else []
    refusal: Conflict | None = None
    if actor.name in pickers:
        # Whoever picked may not verify their own picking (the scan is kept, as refused).
        sku, code, detail = barcodes.get(barcode), SAME_PERSON, {"pickers": pickers}
        refusal = Conflict(SAME_PERSON, shipment=row.number, pickers=", ".join(pickers), actor=actor.name)
    else:
        result = state.sheet.scan(barcode, quantity, barcodes)
        sku, detail = result.sku, dict(result.detail)
        code = result.refusal.value if result.refusal else None
        if not result.accepted:
            refusal = _refusal(result, row, stage, state.sheet.expected, barcode, quantity)
    scan = ShipmentScan(
        shipment_id=row.id, stage=stage.value, barcode=barcode,
        sku_id=session.scalar(select(Sku.id).where(Sku.code == sku)) if sku else None, quantity=quantity,
        accepted=refusal is None, refusal=code, detail=detail, actor=actor.name, at=now,
    )
    session.add(scan)
    session.flush()
    return ScanOutcome(_read(scan, sku), refusal)


def _read(scan: ShipmentScan, sku: str | None) -> ScanRead:
    return ScanRead(id=scan.id, stage=scan.stage, barcode=scan.barcode, sku=sku, quantity=scan.quantity,
                    accepted=scan.accepted, refusal=scan.refusal, actor=scan.actor, at=scan.at)


def scan_summary(uow: UnitOfWork, *, shipment: str, actor: Actor) -> ScanSummary:
    actor.require(Permission.ORDER_READ)
    session = uow.session
    row = load_shipment(session, shipment, actor)
    stages = {}
    for stage in ScanStage:
        state = stage_state(session, row, stage)
        stages[stage.value] = StageProgress(expected=dict(state.sheet.expected), scanned=dict(state.sheet.scanned),
                                            missing=state.sheet.missing(), by=state.by)
    scans = [
        _read(scan, code)
        for scan, code in session.execute(
            select(ShipmentScan, Sku.code).outerjoin(Sku, Sku.id == ShipmentScan.sku_id)
            .where(ShipmentScan.shipment_id == row.id).order_by(ShipmentScan.id)
        )
    ]
    return ScanSummary(shipment=row.number, status=row.status, pick=stages["pick"], check=stages["check"],
                       scans=scans)


# --- the step guards ------------------------------------------------------------------------------


@guard(ShipmentTrigger.FINISH_PICK)
def every_item_picked(session: Session, shipment: Shipment, actor: str) -> None:
    missing = stage_state(session, shipment, ScanStage.PICK).sheet.missing()
    if missing:
        raise Conflict("pick_incomplete", shipment=shipment.number, missing=units(missing))


@guard(ShipmentTrigger.CHECK)
def checked_by_a_second_person(session: Session, shipment: Shipment, actor: str) -> None:
    check = stage_state(session, shipment, ScanStage.CHECK)
    missing = check.sheet.missing()
    if missing:
        raise Conflict("check_incomplete", shipment=shipment.number, missing=units(missing))
    pickers = stage_state(session, shipment, ScanStage.PICK).by
    if actor in pickers:  # check-stage scans by a picker are refused when scanned
        raise Conflict(SAME_PERSON, shipment=shipment.number, pickers=", ".join(pickers), actor=actor)
