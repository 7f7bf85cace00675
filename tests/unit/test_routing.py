"""Pick routes on a single-block layout: the dynamic programme against brute force."""

from __future__ import annotations

import itertools
import random

import pytest

from ordo.fulfillment.routing import BlockLayout, Layout, block_route, largest_gap, s_shape, shortest_route

LAYOUT = Layout(aisles=5, aisle_length=10, aisle_spacing=3, depot_aisle=0)


def brute_force(layout: Layout, picks: list[tuple[int, float]]) -> float:
    depot = (layout.depot_aisle, 0.0)
    points = list(dict.fromkeys(picks))
    best = float("inf")
    for order in itertools.permutations(points):
        stops = [depot, *order, depot]
        best = min(best, sum(layout.distance(p, q) for p, q in itertools.pairwise(stops)))
    return best


def route_length(layout: Layout, stops) -> float:
    depot = (layout.depot_aisle, 0.0)
    walk = [depot, *stops, depot]
    return sum(layout.distance(p, q) for p, q in itertools.pairwise(walk))


def test_no_picks_no_travel():
    assert shortest_route(LAYOUT, []).length == 0


def test_one_pick_in_the_depot_aisle_is_there_and_back():
    route = shortest_route(LAYOUT, [(0, 4)])
    assert (route.length, route.stops) == (8, ((0, 4.0),))


def test_picks_at_both_ends_of_far_aisles_are_served_by_traversing():
    # front to aisle 2 (6), up aisle 2 (10), back to aisle 4 (6), down aisle 4 (10), front to the depot (12)
    picks = [(2, 1), (2, 9), (4, 1), (4, 9)]
    route = shortest_route(LAYOUT, picks)
    assert route.length == brute_force(LAYOUT, picks) == 44
    assert set(route.stops) == {(2, 1.0), (2, 9.0), (4, 1.0), (4, 9.0)}


def test_depot_in_a_middle_aisle():
    layout = Layout(aisles=6, aisle_length=8, aisle_spacing=2, depot_aisle=3)
    picks = [(0, 7), (5, 2), (3, 5)]
    assert shortest_route(layout, picks).length == brute_force(layout, picks)


@pytest.mark.parametrize("seed", range(300))
def test_optimal_on_random_small_single_block_instances(seed):
    rng = random.Random(seed)
    layout = Layout(
        aisles=rng.randint(1, 6),
        aisle_length=rng.choice([5, 10, 20]),
        aisle_spacing=rng.choice([1, 2.5, 4]),
        depot_aisle=0,
    )
    layout = Layout(layout.aisles, layout.aisle_length, layout.aisle_spacing, rng.randrange(layout.aisles))
    picks = [
        (rng.randrange(layout.aisles), float(rng.randint(0, int(layout.aisle_length))))
        for _ in range(rng.randint(1, 6))
    ]
    route = shortest_route(layout, picks)
    assert route.length == pytest.approx(brute_force(layout, picks))
    assert sorted(route.stops) == sorted(set(picks))
    # the stops in route order, walked point to point, are no longer than the route
    assert route_length(layout, route.stops) == pytest.approx(route.length)


def test_heuristics_on_a_hand_checked_instance():
    picks = [(1, 2), (1, 8), (3, 5)]
    # S-shape: aisles 1 and 3 traversed (2 × 10) + to aisle 3 and back (2 × 9) = 38
    assert s_shape(LAYOUT, picks) == 38
    # largest gap: two aisles → both outermost, traversed: the same 38
    assert largest_gap(LAYOUT, picks) == 38
    # and no shorter route exists
    assert shortest_route(LAYOUT, picks).length == brute_force(LAYOUT, picks) == 38


@pytest.mark.parametrize("seed", range(200))
def test_the_optimum_is_never_longer_than_the_heuristics(seed):
    rng = random.Random(1000 + seed)
    layout = Layout(aisles=8, aisle_length=20, aisle_spacing=3, depot_aisle=rng.randrange(8))
    picks = [(rng.randrange(8), float(rng.randint(1, 19))) for _ in range(rng.randint(1, 15))]
    best = shortest_route(layout, picks).length
    assert best <= min(s_shape(layout, picks), largest_gap(layout, picks)) + 1e-9


BLOCKS = BlockLayout(aisles=6, cross_aisles=(0.0, 10.0, 20.0), aisle_spacing=3, depot_aisle=0)


def test_block_route_on_one_block_matches_the_optimum():
    single = Layout(aisles=6, aisle_length=20, aisle_spacing=3, depot_aisle=0)
    one_block = BlockLayout(aisles=6, cross_aisles=(0.0, 20.0), aisle_spacing=3, depot_aisle=0)
    rng = random.Random(7)
    for _ in range(30):
        picks = [(rng.randrange(6), float(rng.randint(1, 19))) for _ in range(rng.randint(1, 6))]
        assert block_route(one_block, picks).length == pytest.approx(shortest_route(single, picks).length)


@pytest.mark.parametrize("seed", range(60))
def test_block_route_never_longer_than_the_heuristics_and_visits_every_pick(seed):
    rng = random.Random(5000 + seed)
    picks = [(rng.randrange(6), float(rng.randint(1, 19))) for _ in range(rng.randint(1, 12))]
    route = block_route(BLOCKS, picks)
    assert route.length <= min(route.heuristics.values()) + 1e-9
    assert sorted(route.stops) == sorted(set(picks))


def test_block_route_uses_the_middle_cross_aisle():
    picks = [(0, 11.0), (5, 11.0)]
    # up aisle 0 to 11 and back to the middle (11 + 1), across (15), up to 11 and back (1 + 1), across (15),
    # down to the depot (10)
    assert block_route(BLOCKS, picks).length == 11 + 1 + 15 + 1 + 1 + 15 + 10
    # without the middle cross aisle: through aisle 0 (20), across the back (15), through aisle 5 (20), front (15)
    assert shortest_route(Layout(aisles=6, aisle_length=20, aisle_spacing=3), picks).length == 70
