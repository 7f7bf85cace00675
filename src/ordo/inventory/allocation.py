"""Which warehouses may serve an order, best first. Pure: the handler reserves for real.

This is the first, simple allocation of the foundation: one warehouse that holds everything.
Splitting across warehouses comes with the inventory issue.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ordo.inventory.model import WarehouseView
from ordo.policy import ServiceTypePolicy, Trait


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


def holds_everything(needs: Mapping[int, int], available: Mapping[int, int]) -> bool:
    return all(available.get(sku, 0) >= quantity for sku, quantity in needs.items())


def rank_warehouses(
    warehouses: Iterable[WarehouseView],
    *,
    needs: Mapping[int, int],
    available: Mapping[tuple[int, int], int],
    destination: str,
    service: ServiceTypePolicy,
    capabilities: frozenset[str],
) -> list[WarehouseView]:
    """Warehouses that can serve the destination and service and hold every line, by priority."""
    eligible = [
        w
        for w in warehouses
        if can_serve(w, destination=destination, service=service, capabilities=capabilities)
        and holds_everything(needs, {sku: available.get((w.id, sku), 0) for sku in needs})
    ]
    return sorted(eligible, key=lambda w: (w.priority, w.id))
