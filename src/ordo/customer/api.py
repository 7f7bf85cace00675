"""HTTP for customers. Thin: parse, call the handler in one transaction, return its answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from ordo.customer import handlers
from ordo.customer.schemas import CustomerCreate, CustomerPage, CustomerRead, CustomerUpdate
from ordo.entrypoints.api.deps import CurrentActor, OrdoApp, Reading
from ordo.kernel.checks import MAX_PAGE

router = APIRouter(tags=["customers"])

_WRITE = {
    404: {"description": "No such customer"},
    409: {"description": "Another customer has this phone number or e-mail address"},
    422: {"description": "Invalid fields; every problem is listed"},
}


@router.get("/customers", response_model=CustomerPage)
def list_customers(
    uow: Reading,
    actor: CurrentActor,
    phone: str | None = None,
    email: str | None = None,
    account: str | None = None,
    name: Annotated[str | None, Query(description="Part of the name")] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> CustomerPage:
    return handlers.list_customers(uow, actor=actor, phone=phone, email=email, account=account, name=name,
                                   cursor=cursor, limit=limit)


@router.get("/customers/{customer_id}", response_model=CustomerRead, responses={404: _WRITE[404]})
def get_customer(customer_id: int, uow: Reading, actor: CurrentActor) -> CustomerRead:
    return handlers.get_customer(uow, customer_id=customer_id, actor=actor)


@router.post(
    "/customers", response_model=CustomerRead, status_code=status.HTTP_201_CREATED,
    responses={409: _WRITE[409], 422: _WRITE[422]},
)
def create_customer(body: CustomerCreate, ordo: OrdoApp, actor: CurrentActor) -> CustomerRead:
    return ordo.run(handlers.create_customer, data=body, actor=actor)


@router.patch("/customers/{customer_id}", response_model=CustomerRead, responses=_WRITE)
def update_customer(customer_id: int, body: CustomerUpdate, ordo: OrdoApp, actor: CurrentActor) -> CustomerRead:
    return ordo.run(handlers.update_customer, customer_id=customer_id, changes=body, actor=actor)
