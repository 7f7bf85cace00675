"""HTTP for orders: intake, reading, actions. Thin: parse, call the handler, shape the answer."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from ordo.auth.model import Actor
from ordo.bootstrap import UnitOfWork
from ordo.entrypoints.api.deps import AnswerForm, Answering, CurrentActor, Locale, OrdoApp, Reading
from ordo.order import queries
from ordo.order.actions import ActionIn, OrderAction, perform
from ordo.order.handlers import intake_with
from ordo.order.model import OrderSubmission
from ordo.order.schemas import OrderDetail, OrderPage, OrderSummary
from ordo.order.tables import Order

router = APIRouter(tags=["orders"])

# What a write answers: the full detail, or the summary when the caller sent Prefer: return=minimal.
OrderAnswer = OrderDetail | OrderSummary


def _answer(uow: UnitOfWork, number: str, actor: Actor, form: AnswerForm,
            order: Order | None = None) -> tuple[OrderAnswer, dict[str, str]]:
    """The order's detail, or its summary when the caller asked for the short answer; and the
    headers that say which."""
    if form.minimal:
        return (queries.order_summary(uow.session, number, actor, order=order),
                {"Preference-Applied": "return=minimal"})
    uow.write()  # the detail reads the command's events and clocks back
    return queries.order_detail(uow.session, number, actor, form.locale, order=order), {}


def _sent(answer: OrderAnswer, headers: dict[str, str], status_code: int) -> Response:
    """The answer sent as it is built: it is an instance of the route's response model already, which
    FastAPI would otherwise validate again (for a plain ``def`` route, in the thread pool — one more
    hop per request)."""
    return Response(answer.model_dump_json(), status_code=status_code, headers=headers, media_type="application/json")


@router.post(
    "/orders",
    response_model=OrderAnswer,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"description": "The same order was submitted before; the existing one is returned"},
        409: {"description": "Same shop and external id with different content"},
        422: {"description": "Invalid order; every problem is listed by field"},
    },
)
def create_order(
    body: OrderSubmission, ordo: OrdoApp, actor: CurrentActor, form: Answering,
) -> Response:
    # The answer is read in the intake's own transaction, after its writes: what the commit keeps.
    (answer, headers), created = intake_with(
        ordo, submission=body, actor=actor,
        answer=lambda uow, order: _answer(uow, order.number, actor, form, order))
    return _sent(answer, headers, status.HTTP_201_CREATED if created else status.HTTP_200_OK)


@router.get("/orders", response_model=OrderPage)
def list_orders(
    uow: Reading,
    actor: CurrentActor,
    status_: Annotated[str | None, Query(alias="status")] = None,
    channel: str | None = None,
    shop: str | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    phone: str | None = None,
    sku: str | None = None,
    order_class: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=queries.MAX_PAGE)] = 50,
) -> OrderPage:
    f = queries.OrderFilter(
        status=status_,
        channel=channel,
        shop=shop,
        created_from=created_from,
        created_to=created_to,
        phone=phone,
        sku=sku,
        order_class=order_class,
    )
    return queries.list_orders(
        uow.session, f, actor, home_country=uow.policy.intake.home_country, cursor=cursor, limit=limit
    )


@router.get("/orders/{number}", response_model=OrderDetail)
def get_order(number: str, uow: Reading, actor: CurrentActor, locale: Locale) -> OrderDetail:
    return queries.order_detail(uow.session, number, actor, locale)


@router.post("/orders/{number}/{action}", response_model=OrderAnswer)
def act_on_order(
    number: str, action: OrderAction, ordo: OrdoApp, actor: CurrentActor, form: Answering,
    body: ActionIn | None = None,
) -> Response:
    # The answer is read in the action's own transaction, after its writes: what the commit keeps.
    def command(uow: UnitOfWork) -> tuple[OrderAnswer, dict[str, str]]:
        order = perform(uow, number=number, action=action, body=body or ActionIn(), actor=actor)
        return _answer(uow, number, actor, form, order)

    return _sent(*ordo.run(command), status.HTTP_200_OK)
