"""A warehouse floor as data, bin codes, and the route through a pick list's bins. Pure.

The floor: ``aisles`` parallel aisles ``aisle_length_m`` long and ``aisle_spacing_m`` apart (centre
to centre), a front cross aisle (0 m) and a back one (the aisle length), optional middle cross aisles
in between, slots of ``slot_length_m`` along each aisle on both sides, and the depot at the front
end of aisle ``depot_aisle``. Aisles and slots are numbered from 1 in bin codes and from 0 in the
router.

A bin code is ``A<aisle:2>-<slot:3>-<side>``: ``A03-015-L`` is aisle 3, slot 15, left side. The
picker walks the aisle's centre line and reaches both sides from it, so the side does not change
the route; the slot's centre is ``(slot - 0.5) × slot_length_m`` from the front cross aisle.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ordo.fulfillment.routing import BlockLayout, Layout, Point, block_route, shortest_route
from ordo.kernel.checks import Checks

BIN_CODE = re.compile(r"A(\d{2})-(\d{3})-([LR])")
BIN_EXAMPLE = "A03-015-L"
MAX_AISLES = 99  # two digits in a bin code
MAX_SLOTS = 999  # three digits
MAX_LENGTH_M = 1000.0
MAX_SPACING_M = 100.0
MAX_MIDDLE_CROSS_AISLES = 20
FIELDS = ("aisles", "aisle_length_m", "aisle_spacing_m", "slot_length_m", "middle_cross_aisles_m", "depot_aisle")


@dataclass(frozen=True)
class FloorLayout:
    aisles: int
    aisle_length_m: float
    aisle_spacing_m: float
    slot_length_m: float
    middle_cross_aisles_m: tuple[float, ...] = ()
    depot_aisle: int = 1  # 1-based

    @property
    def slots(self) -> int:
        """Slots per aisle side."""
        return math.floor(self.aisle_length_m / self.slot_length_m + 1e-9)

    @property
    def single_block(self) -> bool:
        return not self.middle_cross_aisles_m

    def as_dict(self) -> dict[str, Any]:
        return {
            "aisles": self.aisles, "aisle_length_m": self.aisle_length_m, "aisle_spacing_m": self.aisle_spacing_m,
            "slot_length_m": self.slot_length_m, "middle_cross_aisles_m": list(self.middle_cross_aisles_m),
            "depot_aisle": self.depot_aisle,
        }


@dataclass(frozen=True)
class BinAddress:
    aisle: int  # 1-based
    slot: int  # 1-based
    side: str  # L | R

    @property
    def code(self) -> str:
        return f"A{self.aisle:02d}-{self.slot:03d}-{self.side}"


def _positive(checks: Checks, values: Mapping[str, Any], name: str, high: float) -> float | None:
    value = values.get(name)
    if value is None:
        checks.add(name, "required")
        return None
    number = float(value)
    if not (0 < number <= high) or not math.isfinite(number):
        checks.add(name, "layout_length_range", max=high, value=value)
        return None
    return number


def floor_layout(values: Mapping[str, Any]) -> FloorLayout:
    """A layout from its fields, or every problem at once (each naming its field)."""
    checks = Checks()
    aisles_value = values.get("aisles")
    aisles: int | None = None
    if aisles_value is None:
        checks.add("aisles", "required")
    elif not 1 <= aisles_value <= MAX_AISLES:
        checks.add("aisles", "out_of_range", min=1, max=MAX_AISLES, value=aisles_value)
    else:
        aisles = int(aisles_value)
    length = _positive(checks, values, "aisle_length_m", MAX_LENGTH_M)
    spacing = _positive(checks, values, "aisle_spacing_m", MAX_SPACING_M)
    slot = _positive(checks, values, "slot_length_m", MAX_LENGTH_M)
    if length is not None and slot is not None:
        if slot > length:
            checks.add("slot_length_m", "layout_slot_too_long", value=slot, length=length)
        elif length / slot > MAX_SLOTS + 1e-9:
            checks.add("slot_length_m", "layout_too_many_slots", value=slot, length=length, max=MAX_SLOTS)
    middle: list[float] = []
    raw_middle = values.get("middle_cross_aisles_m") or []
    if len(raw_middle) > MAX_MIDDLE_CROSS_AISLES:
        checks.add("middle_cross_aisles_m", "too_many", max=MAX_MIDDLE_CROSS_AISLES)
    for i, y in enumerate(raw_middle[:MAX_MIDDLE_CROSS_AISLES]):
        path = f"middle_cross_aisles_m[{i}]"
        if length is not None and not 0 < float(y) < length:
            checks.add(path, "layout_cross_aisle_outside", value=y, length=length)
        elif float(y) in middle:
            checks.add(path, "duplicate_value", value=y)
        else:
            middle.append(float(y))
    depot = values.get("depot_aisle")
    if depot is None:
        depot = 1
    elif aisles is not None and not 1 <= depot <= aisles:
        checks.add("depot_aisle", "out_of_range", min=1, max=aisles, value=depot)
    checks.raise_any()
    assert aisles is not None and length is not None and spacing is not None and slot is not None
    return FloorLayout(aisles, length, spacing, slot, tuple(sorted(middle)), int(depot))


def parse_bin(text: str | None) -> BinAddress | None:
    """The address in a bin code (case and surrounding blanks ignored), or None if it is not one."""
    match = BIN_CODE.fullmatch((text or "").strip().upper())
    if match is None:
        return None
    aisle, slot, side = match.groups()
    if int(aisle) == 0 or int(slot) == 0:
        return None
    return BinAddress(int(aisle), int(slot), side)


def bin_fits(layout: FloorLayout, address: BinAddress) -> bool:
    return address.aisle <= layout.aisles and address.slot <= layout.slots


def bin_point(layout: FloorLayout, address: BinAddress) -> Point:
    """Where the picker stands for this bin, as the router sees it."""
    if not bin_fits(layout, address):
        raise ValueError(f"bin {address.code} is outside the layout")
    return (address.aisle - 1, round((address.slot - 0.5) * layout.slot_length_m, 9))


def bin_point_of(layout: FloorLayout, code: str) -> Point:
    address = parse_bin(code)
    if address is None:
        raise ValueError(f"{code!r} is not a bin code")
    return bin_point(layout, address)


@dataclass(frozen=True)
class PlannedRoute:
    length_m: float
    points: tuple[Point, ...]  # in visiting order from the depot
    method: str  # "optimal" (single block) or "improved_heuristic" (multi-block)


def plan_route(layout: FloorLayout, points: Iterable[Point]) -> PlannedRoute:
    """The route from the depot through the points and back: exact on a single block, on several
    blocks never longer than S-shape or largest gap (``routing.block_route``)."""
    unique = list(dict.fromkeys(points))
    depot = layout.depot_aisle - 1
    if layout.single_block:
        route = shortest_route(Layout(layout.aisles, layout.aisle_length_m, layout.aisle_spacing_m, depot), unique)
        return PlannedRoute(route.length, route.stops, "optimal")
    cross = (0.0, *layout.middle_cross_aisles_m, layout.aisle_length_m)
    block = block_route(BlockLayout(layout.aisles, cross, layout.aisle_spacing_m, depot), unique)
    return PlannedRoute(block.length, block.stops, "improved_heuristic")


def route_order(layout: FloorLayout, bins: Sequence[str]) -> tuple[PlannedRoute, list[str]]:
    """The route through these bins and the bins in visiting order (bins at one point stay together,
    in the order given)."""
    points = {code: bin_point_of(layout, code) for code in bins}
    route = plan_route(layout, points.values())
    rank = {p: i for i, p in enumerate(route.points)}
    ordered = sorted(dict.fromkeys(bins), key=lambda code: rank[points[code]])
    return route, ordered
