"""Allocation as a pipeline of pure, swappable steps: the handler reserves for real.

1. ``groups``: lines that must ship on their own (cold-chain goods, policy ``separate_traits``,
   or categories in ``separate_categories``) form their own group; the rest ship together.
2. ``eligible``: warehouses that can serve a group — destination served, warehouse kind of the
   service type, capabilities (cold chain for perishable goods), some stock of the group's goods.
3. ``rank``: the configured strategy (region match, priority, stock level).
4. ``split``: one warehouse that holds the whole group if there is one (the best ranked);
   otherwise the fewest warehouses that together hold it (exact search over combinations, best
   ranked first; greedy past ``exact_split_limit`` warehouses), each line taken from the
   warehouses in rank order.

The result lists the planned shipments with their lines and why each warehouse was chosen, or
the shortage per line when the eligible warehouses together do not hold enough.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations

from ordo.inventory.model import WarehouseView
from ordo.policy import InventoryPolicy, ServiceTypePolicy, Trait


@dataclass(frozen=True)
class Need:
    line_id: int
    sku_id: int
    quantity: int
    traits: frozenset[str] = frozenset()
    category: str = ""


@dataclass(frozen=True)
class AllocationRequest:
    destination: str  # country
    region: str | None  # province or state
    service: ServiceTypePolicy
    needs: tuple[Need, ...]


@dataclass(frozen=True)
class PlannedShipment:
    warehouse: WarehouseView
    lines: tuple[tuple[int, int, int], ...]  # (order line id, sku id, quantity)
    reason: str

    def sku_totals(self) -> dict[int, int]:
        totals: dict[int, int] = {}
        for _, sku, quantity in self.lines:
            totals[sku] = totals.get(sku, 0) + quantity
        return totals


@dataclass(frozen=True)
class Plan:
    shipments: tuple[PlannedShipment, ...] = ()
    shortage: dict[int, int] = field(default_factory=dict)  # order line id → units missing

    @property
    def complete(self) -> bool:
        return not self.shortage and bool(self.shipments)


Available = Mapping[tuple[int, int], int]  # (warehouse id, sku id) → units available


# --- step 1: groups -------------------------------------------------------------------------------


def groups(
    needs: Sequence[Need], separate_traits: Iterable[str], separate_categories: Iterable[str] = ()
) -> list[tuple[Need, ...]]:
    """Lines with a separating trait or category ship apart (one group for each), the rest together."""
    traits, categories = tuple(separate_traits), frozenset(separate_categories)
    grouped: dict[str, list[Need]] = {}
    for need in needs:
        key = next((f"trait:{t}" for t in traits if t in need.traits), "")
        if not key and need.category in categories:
            key = f"category:{need.category}"
        grouped.setdefault(key, []).append(need)
    return [tuple(grouped[k]) for k in sorted(grouped)]


# --- step 2: eligible warehouses ------------------------------------------------------------------


def required_capabilities(service: ServiceTypePolicy, traits: Iterable[frozenset[str]]) -> frozenset[str]:
    needed = set(service.required_capabilities)
    if any(Trait.PERISHABLE in t for t in traits):
        needed.add("cold_chain")
    return frozenset(needed)


def can_serve(
    warehouse: WarehouseView, *, destination: str, service: ServiceTypePolicy, capabilities: frozenset[str]
) -> bool:
    if warehouse.kind != service.required_warehouse_kind:
        return False
    if not capabilities <= warehouse.capabilities:
        return False
    return destination == warehouse.country or destination in warehouse.serves


def eligible(
    warehouses: Iterable[WarehouseView], request: AllocationRequest, group: Sequence[Need], available: Available
) -> list[WarehouseView]:
    capabilities = required_capabilities(request.service, [n.traits for n in group])
    return [
        w for w in warehouses
        if can_serve(w, destination=request.destination, service=request.service, capabilities=capabilities)
        and any(available.get((w.id, n.sku_id), 0) > 0 for n in group)
    ]


# --- step 3: rank ---------------------------------------------------------------------------------


def _region_match(warehouse: WarehouseView, region: str | None) -> bool:
    if not region or not warehouse.region:
        return False
    a, b = region.strip().casefold(), warehouse.region.strip().casefold()
    return a.startswith(b) or b.startswith(a)


def rank(
    warehouses: Iterable[WarehouseView], request: AllocationRequest, group: Sequence[Need], available: Available,
    strategy: Sequence[str],
) -> list[WarehouseView]:
    def key(w: WarehouseView) -> tuple[int, ...]:
        parts: list[int] = []
        for name in strategy:
            if name == "region":
                parts.append(0 if _region_match(w, request.region) else 1)
            elif name == "priority":
                parts.append(w.priority)
            elif name == "stock":
                parts.append(-sum(min(available.get((w.id, n.sku_id), 0), n.quantity) for n in group))
        return (*parts, w.id)

    return sorted(warehouses, key=key)


# --- step 4: split --------------------------------------------------------------------------------


def _totals(group: Sequence[Need]) -> dict[int, int]:
    totals: dict[int, int] = {}
    for n in group:
        totals[n.sku_id] = totals.get(n.sku_id, 0) + n.quantity
    return totals


def covers(chosen: Sequence[WarehouseView], totals: Mapping[int, int], available: Available) -> bool:
    return all(sum(available.get((w.id, sku), 0) for w in chosen) >= q for sku, q in totals.items())


def _assign(
    chosen: Sequence[WarehouseView], group: Sequence[Need], available: Available, why: Mapping[int, str]
) -> list[PlannedShipment]:
    """Each line from the best ranked chosen warehouse that holds all of it; a line no single one
    holds is taken from them in rank order."""
    left = {(w.id, n.sku_id): available.get((w.id, n.sku_id), 0) for w in chosen for n in group}
    lines: dict[int, list[tuple[int, int, int]]] = {w.id: [] for w in chosen}
    for need in group:
        wanted = need.quantity
        whole = next((w for w in chosen if left[(w.id, need.sku_id)] >= wanted), None)
        for w in [whole] if whole is not None else chosen:
            take = min(wanted, left[(w.id, need.sku_id)])
            if take:
                lines[w.id].append((need.line_id, need.sku_id, take))
                left[(w.id, need.sku_id)] -= take
                wanted -= take
            if not wanted:
                break
    return [PlannedShipment(w, tuple(lines[w.id]), why[w.id]) for w in chosen if lines[w.id]]


def split(
    ranked: Sequence[WarehouseView], group: Sequence[Need], available: Available, *, exact_limit: int,
    reasons: Callable[[WarehouseView], str],
) -> list[PlannedShipment] | None:
    """The fewest warehouses (best ranked first) that hold the group, or None if they cannot."""
    totals = _totals(group)
    if not covers(ranked, totals, available):
        return None
    why = {w.id: reasons(w) for w in ranked}
    for w in ranked:
        if covers([w], totals, available):
            return _assign([w], group, available, {w.id: why[w.id] + ", holds every line"})
    if len(ranked) <= exact_limit:
        for size in range(2, len(ranked) + 1):
            for chosen in combinations(ranked, size):  # in rank order: the first fit is the best ranked
                if covers(chosen, totals, available):
                    return _assign(chosen, group, available, {w.id: why[w.id] + f", one of {size}" for w in chosen})
    chosen_greedy: list[WarehouseView] = []
    remaining = dict(totals)
    pool = list(ranked)
    while any(q > 0 for q in remaining.values()):
        best = max(pool, key=lambda w: sum(min(available.get((w.id, s), 0), q) for s, q in remaining.items()))
        pool.remove(best)
        chosen_greedy.append(best)
        for s in remaining:
            remaining[s] = max(0, remaining[s] - available.get((best.id, s), 0))
    chosen_greedy.sort(key=ranked.index)
    return _assign(chosen_greedy, group, available, {w.id: why[w.id] + ", greedy split" for w in chosen_greedy})


# --- the pipeline ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pipeline:
    """The steps, each replaceable (a seller with its own ranking passes its own ``rank``)."""

    policy: InventoryPolicy
    group: Callable[..., list[tuple[Need, ...]]] = groups
    filter: Callable[[Iterable[WarehouseView], AllocationRequest, Sequence[Need], Available],
                     list[WarehouseView]] = eligible
    rank: Callable[..., list[WarehouseView]] = rank

    def plan(self, warehouses: Sequence[WarehouseView], request: AllocationRequest, available: Available) -> Plan:
        shipments: list[PlannedShipment] = []
        shortage: dict[int, int] = {}
        for group in self.group(request.needs, self.policy.separate_traits, self.policy.separate_categories):
            candidates = self.filter(warehouses, request, group, available)
            ranked = self.rank(candidates, request, group, available, self.policy.allocation_strategy)
            planned = split(ranked, group, available, exact_limit=self.policy.exact_split_limit,
                            reasons=lambda w: _reason(w, request, self.policy.allocation_strategy))
            if planned is None:
                shortage |= _shortage(ranked, group, available)
            else:
                shipments += planned
        if shortage:
            return Plan(shortage=shortage)
        return Plan(shipments=tuple(shipments))


def _reason(w: WarehouseView, request: AllocationRequest, strategy: Sequence[str]) -> str:
    facts = []
    for name in strategy:
        if name == "region" and _region_match(w, request.region):
            facts.append(f"region {w.region}")
        elif name == "priority":
            facts.append(f"priority {w.priority}")
    return f"{w.code}: " + ", ".join(facts) if facts else w.code


def _shortage(ranked: Sequence[WarehouseView], group: Sequence[Need], available: Available) -> dict[int, int]:
    """Units missing per line when every eligible warehouse gives what it has, lines in order."""
    left = {(w.id, n.sku_id): available.get((w.id, n.sku_id), 0) for w in ranked for n in group}
    missing: dict[int, int] = {}
    for need in group:
        wanted = need.quantity
        for w in ranked:
            take = min(wanted, left[(w.id, need.sku_id)])
            left[(w.id, need.sku_id)] -= take
            wanted -= take
        if wanted:
            missing[need.line_id] = missing.get(need.line_id, 0) + wanted
    return missing



def net_of_claims(available: Available, claims: Mapping[int, int]) -> dict[tuple[int, int], int]:
    """What is left for an order once ``claims`` (sku id → units earlier waiting orders need) are
    set aside, taken from the warehouses in id order: a later order never plans with units that an
    earlier one waits for."""
    left = dict(available)
    for sku_id, claimed in claims.items():
        for key in sorted(k for k in left if k[1] == sku_id):
            take = min(claimed, left[key])
            left[key] -= take
            claimed -= take
    return left
