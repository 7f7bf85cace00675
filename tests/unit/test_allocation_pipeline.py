"""The allocation pipeline as pure functions: properties checked by hypothesis against brute force,
and the worked examples of the policies."""

from __future__ import annotations

from itertools import combinations

from hypothesis import given, settings
from hypothesis import strategies as st

from ordo.inventory.allocation import AllocationRequest, Need, Pipeline, can_serve, groups, required_capabilities
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


# --- richer cases: duplicate SKU lines, trait groups, region and service filters -----------------

SERVICES = {name: Policy().intake.service_types[name] for name in ("domestic_freight", "cold_chain",
                                                                    "overseas_warehouse")}

rich_cases = st.tuples(
    st.lists(st.tuples(st.sampled_from(("domestic", "overseas")), st.sampled_from(("CN", "US")),
                       st.booleans(), st.integers(1, 30)), min_size=1, max_size=4),
    st.lists(st.tuples(st.integers(1, 3), st.integers(1, 5)), min_size=1, max_size=4),  # (sku, qty): repeats
    st.sets(st.integers(1, 3)),  # perishable SKUs
    st.dictionaries(st.tuples(st.integers(1, 4), st.integers(1, 3)), st.integers(0, 8)),
    st.sampled_from(sorted(SERVICES)),
    st.sampled_from(("CN", "US")),
)


def _rich(case):
    specs, lines, perishable, available, service, destination = case
    warehouses = [WarehouseView(id=i + 1, code=f"WH{i + 1}", kind=kind, country=country, serves=frozenset(),
                                capabilities=frozenset({"cold_chain"}) if cold else frozenset(), priority=p, region="")
                  for i, (kind, country, cold, p) in enumerate(specs)]
    needs = tuple(Need(line_id=100 + i, sku_id=s, quantity=q,
                       traits=frozenset({"perishable"}) if s in perishable else frozenset())
                  for i, (s, q) in enumerate(lines))
    available = {k: v for k, v in available.items() if k[0] <= len(warehouses)}
    return warehouses, needs, available, AllocationRequest(destination=destination, region=None,
                                                           service=SERVICES[service], needs=needs)


@settings(max_examples=400, deadline=None)
@given(rich_cases)
def test_groups_filters_and_duplicate_lines_never_oversell_and_stay_minimal(case):
    warehouses, needs, available, req = _rich(case)
    plan = Pipeline(POLICY).plan(warehouses, req, available)
    taken: dict[tuple[int, int], int] = {}
    got: dict[int, int] = {}
    for shipment in plan.shipments:
        lines = [next(n for n in needs if n.line_id == line_id) for line_id, _, _ in shipment.lines]
        assert {bool(n.traits) for n in lines} in ({True}, {False})  # cold-chain goods ship apart
        capabilities = required_capabilities(req.service, [n.traits for n in lines])
        assert can_serve(shipment.warehouse, destination=req.destination, service=req.service,
                         capabilities=capabilities)
        for line_id, sku, quantity in shipment.lines:
            taken[(shipment.warehouse.id, sku)] = taken.get((shipment.warehouse.id, sku), 0) + quantity
            got[line_id] = got.get(line_id, 0) + quantity
    assert all(q <= available.get(key, 0) for key, q in taken.items())
    minimum = 0
    for group in groups(needs, POLICY.separate_traits):
        capabilities = required_capabilities(req.service, [n.traits for n in group])
        usable = [w for w in warehouses if can_serve(w, destination=req.destination, service=req.service,
                                                     capabilities=capabilities)]
        best = _brute_force_minimum(usable, _summed(group), available)
        minimum = None if best is None or minimum is None else minimum + best
    if plan.complete:
        assert got == {n.line_id: n.quantity for n in needs}
        assert len(plan.shipments) == minimum
    else:
        assert (plan.shipments, minimum) == ((), None)  # no warehouses that may serve hold enough
        assert plan.shortage and all(v > 0 for v in plan.shortage.values())


def _summed(group):
    totals: dict[int, int] = {}
    for n in group:
        totals[n.sku_id] = totals.get(n.sku_id, 0) + n.quantity
    return [Need(line_id=s, sku_id=s, quantity=q) for s, q in totals.items()]


def test_overseas_warehouse_service_allocates_only_from_overseas_warehouses():
    home = WarehouseView(id=1, code="WH-SH", kind="domestic", country="CN", serves=frozenset({"US"}),
                         capabilities=frozenset(), priority=1, region="")
    abroad = WarehouseView(id=2, code="WH-LA", kind="overseas", country="US", serves=frozenset(),
                           capabilities=frozenset(), priority=50, region="")
    req = AllocationRequest(destination="US", region=None, service=SERVICES["overseas_warehouse"],
                            needs=(Need(1, 7, 3),))
    plan = Pipeline(POLICY).plan([home, abroad], req, {(1, 7): 100, (2, 7): 3})
    assert [(s.warehouse.code, s.lines) for s in plan.shipments] == [("WH-LA", ((1, 7, 3),))]
    assert Pipeline(POLICY).plan([home, abroad], req, {(1, 7): 100, (2, 7): 2}).shortage == {1: 1}
