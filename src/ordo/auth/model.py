"""Who is acting, what their roles allow, and which orders they can see."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache

from ordo.kernel.errors import Forbidden


class Role(StrEnum):
    CUSTOMER_SERVICE = "customer_service"
    REVIEWER = "reviewer"
    WAREHOUSE = "warehouse"
    LOGISTICS = "logistics"
    FINANCE = "finance"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class Permission(StrEnum):
    ORDER_READ = "order.read"
    ORDER_CREATE = "order.create"
    ORDER_REVIEW = "order.review"
    # The second level of a two-level review (the department head, 002).
    ORDER_REVIEW_SECOND = "order.review_second"
    REVIEW_ADMIN = "review.admin"
    RISK_BLACKLIST = "risk.blacklist"
    ORDER_HOLD = "order.hold"
    ORDER_CANCEL = "order.cancel"
    ORDER_PAY = "order.pay"
    ORDER_ALLOCATE = "order.allocate"
    ORDER_COMPLETE = "order.complete"
    SHIPMENT_PICK = "shipment.pick"
    SHIPMENT_CHECK = "shipment.check"
    SHIPMENT_PACK = "shipment.pack"
    SHIPMENT_HAND_OVER = "shipment.hand_over"
    SHIPMENT_SHIP = "shipment.ship"
    SHIPMENT_DELIVER = "shipment.deliver"
    # Override the carrier the rules chose (logistics, with a reason).
    SHIPMENT_CARRIER = "shipment.carrier"
    # Work the follow-up tasks shipping opens (a refused delivery → contact the customer).
    FOLLOWUP_WORK = "followup.work"
    # The cross-border legs: booking, export declaration, transport, arrival, customs clearance.
    SHIPMENT_LEGS = "shipment.legs"
    REFERENCE_READ = "reference.read"
    REFERENCE_WRITE = "reference.write"
    STOCK_READ = "stock.read"
    STOCK_WRITE = "stock.write"
    WAREHOUSE_LAYOUT = "warehouse.layout"
    USER_ADMIN = "user.admin"


P = Permission

# Each role may perform only its own actions (DESIGN.md, "Who uses it"); the admin may do everything.
# Hand-over is the warehouse's last step; logistics takes the parcel from there (ship, last mile).
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.CUSTOMER_SERVICE: frozenset(
        {P.ORDER_READ, P.ORDER_CREATE, P.ORDER_REVIEW, P.ORDER_HOLD, P.ORDER_CANCEL, P.ORDER_COMPLETE,
         P.REFERENCE_READ, P.STOCK_READ, P.FOLLOWUP_WORK}
    ),
    Role.REVIEWER: frozenset(
        {P.ORDER_READ, P.ORDER_REVIEW, P.ORDER_REVIEW_SECOND, P.ORDER_HOLD, P.ORDER_CANCEL, P.RISK_BLACKLIST,
         P.REFERENCE_READ}
    ),
    Role.WAREHOUSE: frozenset(
        {P.ORDER_READ, P.ORDER_ALLOCATE, P.SHIPMENT_PICK, P.SHIPMENT_CHECK, P.SHIPMENT_PACK,
         P.SHIPMENT_HAND_OVER, P.REFERENCE_READ, P.STOCK_READ, P.STOCK_WRITE, P.WAREHOUSE_LAYOUT}
    ),
    Role.LOGISTICS: frozenset(
        {P.ORDER_READ, P.SHIPMENT_SHIP, P.SHIPMENT_DELIVER, P.SHIPMENT_CARRIER, P.SHIPMENT_LEGS, P.REFERENCE_READ,
         P.STOCK_READ}
    ),
    Role.FINANCE: frozenset({P.ORDER_READ, P.ORDER_PAY, P.REFERENCE_READ}),
    Role.SUPERVISOR: frozenset({P.ORDER_READ, P.REFERENCE_READ, P.STOCK_READ}),
    Role.ADMIN: frozenset(Permission),
}


def permissions_of(roles: Iterable[str]) -> frozenset[Permission]:
    """What the roles allow together. A role name no longer known (a stored user row from an older
    version) grants nothing rather than failing the request."""
    return _granted(frozenset(roles))


_KNOWN_ROLES = frozenset(r.value for r in Role)


@lru_cache(maxsize=256)
def _granted(roles: frozenset[str]) -> frozenset[Permission]:
    # Once per set of roles: an order's detail asks for every action the actor may take.
    granted: set[Permission] = set()
    for role in roles & _KNOWN_ROLES:
        granted |= ROLE_PERMISSIONS[Role(role)]
    return frozenset(granted)


@dataclass(frozen=True)
class Actor:
    """The caller of a command. Empty ``shops`` / ``warehouses`` mean no restriction."""

    name: str
    roles: frozenset[str]
    user_id: int | None = None
    shops: frozenset[str] = field(default_factory=frozenset)
    warehouses: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def system(cls) -> Actor:
        return cls(name="system", roles=frozenset({Role.ADMIN}))

    def can(self, permission: Permission) -> bool:
        return permission in permissions_of(self.roles)

    def require(self, permission: Permission) -> None:
        """Refuse (403) what the actor's roles do not allow."""
        if not self.can(permission):
            raise Forbidden("forbidden", roles=", ".join(sorted(self.roles)) or "-", action=permission.value)

    def sees_shop(self, shop_code: str) -> bool:
        return not self.shops or shop_code in self.shops

    def sees_warehouses(self, warehouse_codes: Iterable[str]) -> bool:
        return not self.warehouses or bool(self.warehouses & set(warehouse_codes))
