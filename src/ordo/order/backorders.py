"""Backorders (pre-orders): served when goods arrive, in priority order, and the customer's choices
while waiting (wait, substitute a SKU, cancel)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy import delete, insert, select, text
from sqlalchemy.orm import selectinload

from ordo.auth.model import Actor, Permission
from ordo.bootstrap import UnitOfWork
from ordo.catalog.tables import Sku
from ordo.inventory import handlers as inventory
from ordo.kernel.errors import Conflict, Problem, ValidationFailed
from ordo.order import lifecycle
from ordo.order.allocation import (
    PRIORITY,
    Claims,
    allocate_order,
    backordered_needing,
    close_for_scarcity,
    join_queues,
    lock_queues,
    needs_of,
    rowless,
)
from ordo.order.lifecycle import SYSTEM, load_order
from ordo.order.states import OrderStatus
from ordo.order.tables import BackorderWakeup, Order
from ordo.policy import Trait

_WOKEN = "ordo.woken_skus"  # session.info: the goods this transaction noted, served after its commit


def waiting_for(uow: UnitOfWork, sku_ids: list[int]) -> list[Order]:
    """The backordered orders that need these SKUs — the only ones a restock of them can make
    servable — that no other command holds, locked in id order (SKIP LOCKED: a serving never waits
    for an order, so it neither queues behind another serving nor makes an action on one of its
    orders wait while it waits for stock rows), with their lines."""
    locked = list(uow.session.scalars(
        select(Order.id).where(backordered_needing(sku_ids)).order_by(Order.id).with_for_update(skip_locked=True)
    ))
    if not locked:
        return []
    # With their lines in one more query (serving reads every order's needs; one query each otherwise),
    # read afresh: the session may hold an order as it was before the lock (read earlier, or by a
    # first pass of ``hold_backorders`` whose savepoint gave the locks back), and would write it with
    # that copy's version.
    return list(uow.session.scalars(select(Order).where(Order.id.in_(locked)).order_by(Order.id)
                                    .options(selectinload(Order.lines))
                                    .execution_options(populate_existing=True)))


def wake_backorders(uow: UnitOfWork, sku_ids: list[int]) -> Callable[[], None]:
    """The restock observer (``inventory.handlers.restocking``). Before the stock changes it locks
    the goods' stock rows in the global (warehouse, SKU) order, then their queues
    (``allocation.lock_queues``; an intake short of goods with no stock row takes the queue instead
    of the rows, and the restock's own first row, not committed yet, guards nothing): an intake or
    substitute leaving an order waiting for these goods decides under the same locks, so it either
    reads the new stock or is committed before the step this returns looks for waiting orders. If
    any waits, the goods are noted (``wake``) and their queue is served after the commit. The
    restock itself locks no order: it does not wait while holding the queue, nor make other
    restocks wait for it."""
    session = uow.session
    inventory.lock_stock(session, sku_ids)
    lock_queues(session, sku_ids)

    def after() -> None:
        if anyone_waiting(uow, sku_ids):
            wake(uow, sku_ids)

    return after


def anyone_waiting(uow: UnitOfWork, sku_ids: list[int]) -> bool:
    """Whether a backordered order needs any of these SKUs (as committed when this is read)."""
    return uow.session.scalar(select(Order.id).where(backordered_needing(sku_ids)).limit(1)) is not None


def wake(uow: UnitOfWork, sku_ids: Iterable[int]) -> None:
    """Note that these goods may serve waiting orders: a row each, in the caller's transaction (so
    a crash after the commit loses nothing: the worker serves it), and the queue served right after
    the commit (``serve_woken``)."""
    ids = sorted(set(sku_ids))
    if not ids:
        return
    now = uow.clock.now()
    uow.session.execute(insert(BackorderWakeup), [{"sku_id": sku_id, "created_at": now} for sku_id in ids])
    woken: set[int] | None = uow.session.info.get(_WOKEN)
    if woken is None:
        woken = uow.session.info[_WOKEN] = set()
        uow.after_commit(lambda then: serve_woken(then, sku_ids=sorted(woken)))
    woken.update(ids)


def serve_woken(uow: UnitOfWork, *, sku_ids: list[int] | None = None) -> list[str]:
    """Serve the queues of noted goods (these, or any noted), and delete their notes once every
    order waiting for them was held and served or passed over. A note another transaction is
    serving is skipped (SKIP LOCKED); so is a SKU another serving holds (``_serving``), and a note
    is kept when an order waiting for its goods was held by another command (``hold_backorders``):
    the next serving of those goods, or the worker's next round, takes it. Returns the numbers of
    the orders allocated."""
    claim = select(BackorderWakeup.id, BackorderWakeup.sku_id).order_by(BackorderWakeup.id)
    if sku_ids is not None:
        claim = claim.where(BackorderWakeup.sku_id.in_(sku_ids))
    notes = uow.session.execute(claim.limit(uow.policy.inventory.wakeups_per_serving)
                                .with_for_update(skip_locked=True)).all()
    skus = _serving(uow, sorted({sku_id for _, sku_id in notes}))
    if not skus:
        return []
    candidates, whole, held = hold_backorders(uow, skus)
    served = serve_backorders(uow, candidates, within=held)
    if whole:
        uow.session.execute(delete(BackorderWakeup).where(
            BackorderWakeup.id.in_([note_id for note_id, sku_id in notes if sku_id in skus])))
    return served


_SERVING_LOCKS = 0x4F52  # pg_try_advisory_xact_lock(this, SKU id): the SKU's queue is being served
_SERVING_SLOTS = 0x4F53  # pg_try_advisory_xact_lock(this, n): serving n of inventory.servings_at_once


def _serving(uow: UnitOfWork, sku_ids: list[int]) -> list[int]:
    """The SKUs among these whose queue no other transaction is serving, now held by this one until
    it ends — if it got one of the ``inventory.servings_at_once`` places (none: no SKU). Both are
    transaction-level advisory locks taken without waiting (PostgreSQL; SQLite's writers run one at
    a time). A serving holds the stock rows of every SKU its waiting orders need while it plans
    them, which intakes of those goods wait for: the places bound how many do that at once."""
    session = uow.session
    if not sku_ids or session.get_bind().dialect.name != "postgresql":
        return sku_ids
    placed = session.scalar(text(
        "SELECT EXISTS (SELECT 1 FROM generate_series(0, :places - 1) AS p "
        "WHERE pg_try_advisory_xact_lock(:slots, p))"),
        {"places": uow.policy.inventory.servings_at_once, "slots": _SERVING_SLOTS})
    if not placed:
        return []
    return list(session.scalars(
        text("SELECT s FROM unnest(CAST(:skus AS integer[])) AS s WHERE pg_try_advisory_xact_lock(:ns, s) ORDER BY s"),
        {"skus": sku_ids, "ns": _SERVING_LOCKS}))


def hold_backorders(uow: UnitOfWork, sku_ids: list[int]) -> tuple[list[Order], bool, list[tuple[int, int]] | None]:
    """Lock the orders waiting for these goods and the stock rows serving them may touch; returns
    those orders (for ``serve_backorders``), whether they are every order waiting for the goods (an
    order another command holds is not; its note stays), and the stock rows held (None on SQLite).
    Serving reserves for one order after another, so the stock rows it may touch are locked here,
    in the global (warehouse, SKU) order, after the orders and before any reservation: reserving
    them order by order would take them out of that order and deadlock with an intake of the same
    goods. A row a receipt creates meanwhile is not served from (it would be locked out of that
    order): the serving of that receipt's note takes it."""
    session = uow.session
    if session.get_bind().dialect.name != "postgresql":  # one writer at a time: the queue stays as read
        return waiting_for(uow, sku_ids), True, None
    # An intake (or substitute) leaving an order waiting for these goods holds their stock rows while
    # it decides, or their queues where they have no row (``allocation.join_queues``): once this
    # serving holds both, every such order is committed — read the queue again; one that joined it
    # meanwhile is locked before the stock rows on a new start (the savepoint gives them back). One
    # that another command holds is passed over, not waited for.
    for attempt in range(uow.policy.inventory.restock_queue_reads, 0, -1):
        read = session.begin_nested()
        candidates = waiting_for(uow, sku_ids)
        locked = inventory.lock_stock(session, {*sku_ids, *(line.sku_id for o in candidates for line in o.lines)})
        lock_queues(session, rowless(sku_ids, locked))
        waiting = set(session.scalars(select(Order.id).where(backordered_needing(sku_ids))))
        missing = sorted(waiting - {o.id for o in candidates})
        late = list(session.scalars(select(Order.id).where(Order.id.in_(missing)).with_for_update(skip_locked=True))
                    ) if missing else []
        if not late or attempt == 1:
            read.commit()
            return candidates, not missing, locked
        read.rollback()
    raise AssertionError("unreachable")


def serve_backorders(uow: UnitOfWork, candidates: list[Order], *,
                     within: list[tuple[int, int]] | None = None) -> list[str]:
    """Allocate the ``candidates`` (locked by ``hold_backorders``) in priority order among every order
    waiting for any of their goods: paid before unpaid (cash on delivery), then VIP level, then first
    come first served. An order that is not served — a candidate that still cannot be, or one
    waiting for other goods, which this restock cannot make servable — keeps its claim on the goods
    it needs: a later order is only served from what is left after every earlier one still waiting
    (stock that arrived is not handed to a later order while an earlier one waits). An unpaid
    candidate that cannot be served while a paid order waits for the same goods is closed with an
    apology coupon (scarce stock goes to paid orders). ``within``: the stock rows held
    (``hold_backorders``), the only ones served from."""
    if not candidates:
        return []
    served: list[str] = []
    claims: Claims = {}
    paid_waiting: set[int] = set()
    servable = {order.id for order in candidates}
    skus = sorted({line.sku_id for order in candidates for line in order.lines})
    queue = list(uow.session.scalars(select(Order).where(backordered_needing(skus)).order_by(*PRIORITY)
                                     .options(selectinload(Order.lines))))
    # Units free per SKU over all warehouses, read once: an order that needs more of a SKU than is
    # free once the earlier waiting orders' claims are set aside cannot be planned anywhere, so it is
    # not planned at all — a receipt costs what it can serve, not a plan per order in the queue.
    free: dict[int, int] = {}
    for (_, sku_id), units in inventory.available(uow.session, skus, within=within).items():
        free[sku_id] = free.get(sku_id, 0) + max(0, units)
    for order in queue:
        if order.status != OrderStatus.BACKORDERED:
            continue
        needs = needs_of(order)
        if order.id in servable \
                and all(free.get(sku_id, 0) - claims.get(sku_id, 0) >= quantity for sku_id, quantity in needs.items()) \
                and allocate_order(uow, order, actor=SYSTEM, claims=dict(claims), within=within):
            served.append(order.number)
            for sku_id, quantity in needs.items():
                free[sku_id] -= quantity
            continue
        if order.id in servable and order.payment_status != "paid" and paid_waiting & set(needs):
            close_for_scarcity(uow, order, actor=SYSTEM)
            continue
        if order.payment_status == "paid":
            paid_waiting |= set(needs)
        for sku_id, quantity in needs.items():
            claims[sku_id] = claims.get(sku_id, 0) + quantity
    return served


def left_queue(uow: UnitOfWork, sku_ids: Iterable[int]) -> None:
    """An order stopped waiting for these goods (cancelled, closed, put on hold, or its SKU
    substituted): its claim on them is gone, so the orders that waited behind it are served from
    the stock free now, as a restock would serve them, after this command's commit (``wake``)."""
    wake(uow, sku_ids)


def claims_ahead(uow: UnitOfWork, order: Order) -> Claims:
    """What the backordered orders ahead of this one (priority order) need of its goods."""
    skus = {line.sku_id for line in order.lines}
    claims: Claims = {}
    for other in uow.session.scalars(
        select(Order).where(backordered_needing(skus)).order_by(*PRIORITY)
    ):
        if other.id == order.id:
            break
        for sku_id, quantity in needs_of(other).items():
            claims[sku_id] = claims.get(sku_id, 0) + quantity
    return claims


def _backordered(uow: UnitOfWork, number: str, actor: Actor) -> Order:
    actor.require(Permission.ORDER_HOLD)
    order = load_order(uow.session, number, actor, for_update=True)
    if order.status != OrderStatus.BACKORDERED:
        raise Conflict("not_backordered", number=number, status=order.status)
    return order


def wait(uow: UnitOfWork, *, number: str, actor: Actor, note: str | None = None) -> Order:
    """The customer chose to wait: recorded; the order keeps its place in the queue."""
    order = _backordered(uow, number, actor)
    lifecycle.note(uow, order, "order.wait", actor=actor.name, reason=note)
    return order


def substitute(uow: UnitOfWork, *, number: str, actor: Actor, line_no: int, sku: str, note: str | None = None) -> Order:
    """The customer accepted another SKU for a line (same quantity and price); allocation is tried
    again at once."""
    order = _backordered(uow, number, actor)
    line = next((x for x in order.lines if x.line_no == line_no), None)
    problems = []
    if line is None:
        problems.append(Problem("line_no", "unknown_line", {"path": "line_no", "value": line_no}))
    replacement = uow.session.scalars(select(Sku).where(Sku.code == sku.strip(), Sku.active.is_(True))).first()
    if replacement is None:
        problems.append(Problem("sku", "sku_unknown", {"path": "sku", "value": sku}))
    elif Trait.PROHIBITED in (replacement.traits or ()) or \
            replacement.category in uow.policy.intake.prohibited_categories:
        problems.append(Problem("sku", "sku_prohibited", {"path": "sku", "value": sku,
                                                           "reason": replacement.category}))
    else:
        # The replacement must travel with the order's service type like any goods at intake.
        service = uow.policy.intake.service_types[order.service_type]
        for trait in service.forbidden_traits:
            if trait in (replacement.traits or ()):
                problems.append(Problem("sku", "substitute_trait", {"path": "sku", "value": sku, "trait": trait.value,
                                                                     "service": order.service_type}))
    if problems:
        raise ValidationFailed(problems)
    assert line is not None and replacement is not None
    before, old_sku = line.sku_code, line.sku_id
    line.sku_id, line.sku_code, line.name = replacement.id, replacement.code, replacement.name
    lifecycle.note(uow, order, "order.substitute", actor=actor.name, reason=note,
                   data={"line": line_no, "from": before, "to": replacement.code})
    uow.session.flush()
    if old_sku not in {x.sku_id for x in order.lines}:
        left_queue(uow, [old_sku])
    try_again(uow, order, actor=actor.name)
    return order


def try_again(uow: UnitOfWork, order: Order, *, actor: str) -> None:
    """Allocate a backordered order now if it can be (its goods changed, or a hold on it was lifted
    while a restock passed it by); otherwise it goes on waiting, without a second backorder notice.
    It keeps its place in the queue: only what the orders waiting ahead of it leave is offered."""
    # Allocation decides under the stock rows (all of the order's, in the global order), or under a
    # SKU's queue where it has none yet (``join_queues``).
    needs = needs_of(order)
    held = inventory.lock_stock(uow.session, needs)
    join_queues(uow.session, rowless(needs, held))
    allocate_order(uow, order, actor=actor, claims=claims_ahead(uow, order))
