"""Warehouse layouts, bin codes and the route through a pick list's bins (pure)."""

from __future__ import annotations

import pytest

from ordo.fulfillment.layout import (
    BinAddress,
    FloorLayout,
    bin_fits,
    bin_point,
    floor_layout,
    parse_bin,
    plan_route,
    route_order,
)
from ordo.fulfillment.routing import BlockLayout, Layout, block_route, largest_gap, s_shape, shortest_route
from ordo.kernel.errors import ValidationFailed

FLOOR = FloorLayout(aisles=4, aisle_length_m=20.0, aisle_spacing_m=3.0, slot_length_m=1.0)


def problems(values):
    with pytest.raises(ValidationFailed) as caught:
        floor_layout(values)
    return [(p.path, p.key) for p in caught.value.problems]


def test_a_complete_layout_is_taken_with_its_middle_cross_aisles_sorted():
    layout = floor_layout({"aisles": 6, "aisle_length_m": 40, "aisle_spacing_m": 2.5, "slot_length_m": 1.25,
                           "middle_cross_aisles_m": [30, 10], "depot_aisle": 3})
    assert layout == FloorLayout(6, 40.0, 2.5, 1.25, (10.0, 30.0), 3)
    assert (layout.slots, layout.single_block) == (32, False)


def test_the_depot_defaults_to_the_first_aisle():
    assert floor_layout({"aisles": 2, "aisle_length_m": 5, "aisle_spacing_m": 1, "slot_length_m": 1}).depot_aisle == 1


def test_every_problem_of_a_layout_names_its_field():
    assert problems({"aisles": 0, "aisle_length_m": -1, "slot_length_m": 0, "depot_aisle": 1}) == [
        ("aisles", "out_of_range"),
        ("aisle_length_m", "layout_length_range"),
        ("aisle_spacing_m", "required"),
        ("slot_length_m", "layout_length_range"),
    ]
    assert problems({"aisles": 3, "aisle_length_m": 10, "aisle_spacing_m": 2, "slot_length_m": 12,
                     "middle_cross_aisles_m": [0, 5, 5, 10], "depot_aisle": 4}) == [
        ("slot_length_m", "layout_slot_too_long"),
        ("middle_cross_aisles_m[0]", "layout_cross_aisle_outside"),
        ("middle_cross_aisles_m[2]", "duplicate_value"),
        ("middle_cross_aisles_m[3]", "layout_cross_aisle_outside"),
        ("depot_aisle", "out_of_range"),
    ]
    assert problems({"aisles": 100, "aisle_length_m": 1000, "aisle_spacing_m": 2, "slot_length_m": 0.5}) == [
        ("aisles", "out_of_range"), ("slot_length_m", "layout_too_many_slots"),
    ]


@pytest.mark.parametrize(("text", "address"), [
    ("A03-015-L", BinAddress(3, 15, "L")),
    (" a12-001-r ", BinAddress(12, 1, "R")),
    ("A00-001-L", None),
    ("A03-000-L", None),
    ("A3-15-L", None),
    ("A-03-12-L", None),
    ("A03-015-X", None),
    ("", None),
    (None, None),
])
def test_bin_codes_are_aisle_slot_and_side(text, address):
    assert parse_bin(text) == address


def test_a_bin_is_the_centre_of_its_slot_on_the_aisle_and_both_sides_are_one_point():
    assert bin_point(FLOOR, BinAddress(3, 15, "L")) == (2, 14.5)
    assert bin_point(FLOOR, BinAddress(3, 15, "R")) == (2, 14.5)
    assert BinAddress(3, 15, "L").code == "A03-015-L"


def test_bins_beyond_the_aisles_or_the_slots_do_not_fit():
    assert bin_fits(FLOOR, BinAddress(4, 20, "R"))
    assert not bin_fits(FLOOR, BinAddress(5, 1, "L"))
    assert not bin_fits(FLOOR, BinAddress(1, 21, "L"))
    with pytest.raises(ValueError, match="outside"):
        bin_point(FLOOR, BinAddress(1, 21, "L"))


def test_a_single_block_route_is_the_exact_optimum_and_lists_the_bins_in_visiting_order():
    bins = ["A04-018-L", "A01-005-R", "A02-020-L", "A01-005-L", "A03-002-R"]
    route, ordered = route_order(FLOOR, bins)
    points = [bin_point(FLOOR, parse_bin(b)) for b in bins]
    optimum = shortest_route(Layout(4, 20.0, 3.0, 0), points)
    assert (route.length_m, route.method) == (optimum.length, "optimal")
    # bins at one point stay together, in the order given
    assert ordered == [b for p in optimum.stops for b in dict.fromkeys(bins) if bin_point(FLOOR, parse_bin(b)) == p]
    assert ordered.index("A01-005-R") + 1 == ordered.index("A01-005-L")
    assert route.length_m <= min(s_shape(Layout(4, 20.0, 3.0, 0), points), largest_gap(Layout(4, 20.0, 3.0, 0), points))


def test_a_multi_block_route_uses_the_block_router_with_front_middle_and_back_cross_aisles():
    floor = FloorLayout(5, 30.0, 2.0, 1.0, (15.0,), 2)
    points = [(0, 3.5), (4, 27.5), (2, 16.5), (3, 9.5)]
    route = plan_route(floor, points)
    expected = block_route(BlockLayout(5, (0.0, 15.0, 30.0), 2.0, 1), points)
    assert (route.length_m, route.points, route.method) == (expected.length, expected.stops, "improved_heuristic")
    assert route.length_m <= min(expected.heuristics.values())


def test_no_bins_is_no_walk():
    assert plan_route(FLOOR, []).length_m == 0.0
