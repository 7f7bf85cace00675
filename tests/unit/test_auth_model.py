"""Roles, permissions and scopes as plain values (DESIGN.md, "Who uses it")."""

from __future__ import annotations

import hashlib

import pytest

from ordo.auth.handlers import digest
from ordo.auth.model import ROLE_PERMISSIONS, Actor, Permission, Role, permissions_of
from ordo.kernel.errors import Forbidden
from ordo.kernel.i18n import translate

# Written out by hand on purpose: a change to ROLE_PERMISSIONS must be a change to this table too.
EXPECTED: dict[str, set[str]] = {
    "customer_service": {
        "order.read", "order.create", "order.review", "order.hold", "order.cancel", "order.complete",
        "reference.read", "stock.read", "followup.work",
    },
    "reviewer": {"order.read", "order.review", "order.review_second", "order.hold", "order.cancel", "risk.blacklist",
                 "reference.read"},
    "warehouse": {
        "order.read", "order.allocate", "shipment.pick", "shipment.check", "shipment.pack", "shipment.hand_over",
        "reference.read", "stock.read", "stock.write", "warehouse.layout",
    },
    "logistics": {"order.read", "shipment.ship", "shipment.deliver", "shipment.carrier", "shipment.legs",
                  "reference.read", "stock.read"},
    "finance": {"order.read", "order.pay", "reference.read"},
    "supervisor": {"order.read", "reference.read", "stock.read"},
    "admin": {p.value for p in Permission},
}


def test_every_role_has_exactly_the_expected_permissions():
    assert {r.value for r in Role} == set(EXPECTED)
    assert {role.value: {p.value for p in perms} for role, perms in ROLE_PERMISSIONS.items()} == EXPECTED


def test_only_the_admin_administers_users_reference_data_and_review_rules():
    others = set().union(*(perms for role, perms in ROLE_PERMISSIONS.items() if role != Role.ADMIN))
    assert set(Permission) - others == {Permission.USER_ADMIN, Permission.REFERENCE_WRITE, Permission.REVIEW_ADMIN}


def test_permissions_of_several_roles_is_the_union():
    assert permissions_of(["finance", "logistics"]) == frozenset(
        {Permission.ORDER_READ, Permission.ORDER_PAY, Permission.REFERENCE_READ, Permission.SHIPMENT_SHIP,
         Permission.SHIPMENT_DELIVER, Permission.SHIPMENT_CARRIER, Permission.SHIPMENT_LEGS, Permission.STOCK_READ}
    )


def test_unknown_or_no_role_grants_nothing():
    assert permissions_of(["janitor"]) == frozenset()
    assert permissions_of([]) == frozenset()
    assert permissions_of(["janitor", "finance"]) == ROLE_PERMISSIONS[Role.FINANCE]


def test_actor_can_and_require():
    finance = Actor(name="fiona", roles=frozenset({"finance"}))
    assert finance.can(Permission.ORDER_PAY)
    assert not finance.can(Permission.SHIPMENT_PICK)
    finance.require(Permission.ORDER_PAY)
    with pytest.raises(Forbidden) as refused:
        finance.require(Permission.SHIPMENT_PICK)
    assert refused.value.status == 403
    assert translate(refused.value.key, "en", refused.value.params) == 'Your roles (finance) may not "shipment.pick".'
    assert translate(refused.value.key, "zh-CN", refused.value.params) == "您的角色（finance）无权执行“shipment.pick”。"


def test_actor_without_roles_is_refused_with_a_dash():
    nobody = Actor(name="nobody", roles=frozenset())
    with pytest.raises(Forbidden) as refused:
        nobody.require(Permission.ORDER_READ)
    assert translate(refused.value.key, "en", refused.value.params) == 'Your roles (-) may not "order.read".'


def test_system_actor_is_an_unscoped_admin():
    system = Actor.system()
    assert system.name == "system"
    assert all(system.can(p) for p in Permission)
    assert system.sees_shop("anything")
    assert system.sees_warehouses([])


def test_empty_scope_sees_everything():
    actor = Actor(name="a", roles=frozenset({"supervisor"}))
    assert actor.sees_shop("tmall")
    assert actor.sees_shop("web-cn")
    assert actor.sees_warehouses(["WH-SH"])
    assert actor.sees_warehouses([])


def test_shop_scope():
    actor = Actor(name="a", roles=frozenset({"customer_service"}), shops=frozenset({"tmall"}))
    assert actor.sees_shop("tmall")
    assert not actor.sees_shop("web-cn")


def test_warehouse_scope_needs_one_shipment_from_the_scope():
    actor = Actor(name="w", roles=frozenset({"warehouse"}), warehouses=frozenset({"WH-BJ"}))
    assert actor.sees_warehouses(["WH-BJ"])
    assert actor.sees_warehouses(["WH-SH", "WH-BJ"])
    assert not actor.sees_warehouses(["WH-SH"])
    # Not allocated yet: no shipment, so nothing for a scoped warehouse user.
    assert not actor.sees_warehouses([])


def test_token_digest_is_sha256_hex():
    assert digest("ordo_abc") == hashlib.sha256(b"ordo_abc").hexdigest()
    assert len(digest("x")) == 64
