"""The allocation pipeline as pure functions: properties checked by hypothesis against brute force,
and the worked examples of the policies."""

from __future__ import annotations

from itertools import combinations

from hypothesis import given, settings
from hypothesis import strategies as st

from ordo.inventory.allocation import AllocationRequest, Need, Pipeline, groups
from ordo.inventory.model import WarehouseView
from ordo.policy import InventoryPolicy, Policy

SERVICE = Policy().intake.service_types["domestic_express"]
COLD = Policy().intake.service_types["cold_chain"]
POLICY = InventoryPolicy()


def wh(i: int, *, region: str = "", priority: int = 10, capabilities: frozenset[str] = frozenset(),
       country: str = "CN") -> WarehouseView:
    return WarehouseView(id=i, code=f"WH{i}", kind="domestic", country=country, serves=frozenset(),
                         capabilities=capabilities, priority=priority, region=region)


def request(*needs: Need, region: str | None = None, service=SERVICE) -> AllocationRequest:
    return AllocationRequest(destination="CN", region=region, service=service, needs=needs)


cases = st.integers(min_value=1, max_value=4).flatmap(lambda n_wh: st.integers(min_value=1, max_value=3).flatmap(
    lambda n_sku: st.tuples(
        st.just(n_wh),
        st.lists(st.integers(min_value=1, max_value=6), min_size=n_sku, max_size=n_sku),
        st.dictionaries(
            st.tuples(st.integers(1, n_wh), st.integers(1, n_sku)), st.integers(min_value=0, max_value=8)
        ),
        st.lists(st.integers(min_value=1, max_value=30), min_size=n_wh, max_size=n_wh),
    )
))


def _setup(case):
    n_wh, quantities, available, priorities = case
    warehouses = [wh(i + 1, priority=priorities[i]) for i in range(n_wh)]
    needs = tuple(Need(line_id=100 + s, sku_id=s + 1, quantity=q) for s, q in enumerate(quantities))
    return warehouses, needs, available


def _brute_force_minimum(warehouses, needs, available) -> int | None:
    for size in range(1, len(warehouses) + 1):
        for chosen in combinations(warehouses, size):
            if all(sum(available.get((w.id, n.sku_id), 0) for w in chosen) >= n.quantity for n in needs):
                return size
    return None


@settings(max_examples=400, deadline=None)
@given(cases)
def test_never_more_than_available_and_every_line_complete(case):
    warehouses, needs, available = _setup(case)
    plan = Pipeline(POLICY).plan(warehouses, request(*needs), available)
    taken: dict[tuple[int, int], int] = {}
    got: dict[int, int] = {}
    for shipment in plan.shipments:
        for line_id, sku, quantity in shipment.lines:
            assert quantity > 0
            taken[(shipment.warehouse.id, sku)] = taken.get((shipment.warehouse.id, sku), 0) + quantity
            got[line_id] = got.get(line_id, 0) + quantity
    assert all(q <= available.get(key, 0) for key, q in taken.items())
    if plan.complete:
        assert got == {n.line_id: n.quantity for n in needs}
    else:
        assert plan.shipments == ()
        total = {n.sku_id: sum(available.get((w.id, n.sku_id), 0) for w in warehouses) for n in needs}
        assert plan.shortage == {n.line_id: n.quantity - total[n.sku_id] for n in needs if total[n.sku_id] < n.quantity}


@settings(max_examples=400, deadline=None)
@given(cases)
def test_minimal_number_of_shipments_equals_brute_force(case):
    warehouses, needs, available = _setup(case)
    plan = Pipeline(POLICY).plan(warehouses, request(*needs), available)
    minimum = _brute_force_minimum(warehouses, needs, available)
    assert (len(plan.shipments) if plan.complete else None) == minimum
    assert len({s.warehouse.id for s in plan.shipments}) == len(plan.shipments)


@settings(max_examples=300, deadline=None)
@given(cases)
def test_never_splits_when_one_warehouse_can_serve_and_takes_the_best_ranked(case):
    warehouses, needs, available = _setup(case)
    whole = [w for w in warehouses if all(available.get((w.id, n.sku_id), 0) >= n.quantity for n in needs)]
    plan = Pipeline(POLICY).plan(warehouses, request(*needs), available)
    if whole:
        best = min(whole, key=lambda w: (w.priority, w.id))
        assert [s.warehouse.id for s in plan.shipments] == [best.id]
        assert plan.shipments[0].reason == f"{best.code}: priority {best.priority}, holds every line"


def test_region_match_comes_before_priority_and_is_explained():
    shanghai, beijing = wh(1, region="上海", priority=20), wh(2, region="北京", priority=10)
    plan = Pipeline(POLICY).plan([shanghai, beijing], request(Need(1, 7, 2), region="上海市"),
                                 {(1, 7): 5, (2, 7): 5})
    assert [(s.warehouse.code, s.reason) for s in plan.shipments] == [
        ("WH1", "WH1: region 上海, priority 20, holds every line")
    ]
    by_priority = Pipeline(POLICY.model_copy(update={"allocation_strategy": ("priority",)}))
    assert [s.warehouse.code for s in by_priority.plan([shanghai, beijing], request(Need(1, 7, 2), region="上海市"),
                                                       {(1, 7): 5, (2, 7): 5}).shipments] == ["WH2"]


def test_split_across_two_warehouses_takes_lines_in_rank_order():
    a, b, c = wh(1, priority=1), wh(2, priority=2), wh(3, priority=3)
    available = {(1, 1): 3, (2, 1): 10, (3, 2): 4, (2, 2): 1}
    plan = Pipeline(POLICY).plan([a, b, c], request(Need(11, 1, 5), Need(12, 2, 4)), available)
    assert [(s.warehouse.code, s.lines) for s in plan.shipments] == [
        ("WH2", ((11, 1, 5),)),
        ("WH3", ((12, 2, 4),)),
    ]
    assert plan.shipments[0].reason == "WH2: priority 2, one of 2"


def test_cold_chain_goods_ship_apart_from_the_rest():
    cold = wh(1, capabilities=frozenset({"cold_chain"}), priority=5)
    plain = wh(2, priority=1)
    needs = (Need(1, 1, 1, frozenset({"perishable"})), Need(2, 2, 1))
    assert [tuple(n.line_id for n in g) for g in groups(needs, POLICY.separate_traits)] == [(2,), (1,)]
    plan = Pipeline(POLICY).plan([cold, plain], request(*needs, service=Policy().intake.service_types[
        "domestic_freight"]), {(1, 1): 5, (1, 2): 5, (2, 2): 5})
    assert sorted((s.warehouse.code, s.lines) for s in plan.shipments) == [
        ("WH1", ((1, 1, 1),)), ("WH2", ((2, 2, 1),)),
    ]
    together = Pipeline(POLICY.model_copy(update={"separate_traits": ()}))
    assert [s.warehouse.code for s in together.plan([cold, plain], request(*needs, service=Policy().intake
                                                                           .service_types["domestic_freight"]),
                                                    {(1, 1): 5, (1, 2): 5, (2, 2): 5}).shipments] == ["WH1"]


def test_warehouses_that_cannot_serve_are_filtered_out():
    abroad = wh(1, country="US")
    no_cold = wh(2)
    plan = Pipeline(POLICY).plan([abroad, no_cold], request(Need(1, 1, 1, frozenset({"perishable"})), service=COLD),
                                 {(1, 1): 9, (2, 1): 9})
    assert (plan.complete, plan.shortage) == (False, {1: 1})


def test_a_category_rule_forces_a_split():
    needs = (Need(1, 1, 1, category="furniture"), Need(2, 2, 1, category="tea"), Need(3, 3, 1, category="tea"))
    assert [tuple(n.line_id for n in g) for g in groups(needs, (), ("furniture",))] == [(2, 3), (1,)]
    policy = POLICY.model_copy(update={"separate_categories": ("furniture",)})
    plan = Pipeline(policy).plan([wh(1)], request(*needs), {(1, 1): 1, (1, 2): 1, (1, 3): 1})
    assert [tuple(line[0] for line in s.lines) for s in plan.shipments] == [(2, 3), (1,)]
