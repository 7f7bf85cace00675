"""Pick-route benchmark: optimal single-block routes against the S-shape and largest-gap heuristics
over random pick lists. Prints one JSON line.

    python bench/routes.py [--lists 1000] [--aisles 10] [--picks 5:30] [--seed 1]
"""

from __future__ import annotations

import json
import random
import statistics
import time

import typer

from ordo.fulfillment.routing import BlockLayout, Layout, block_route, largest_gap, s_shape, shortest_route


def main(lists: int = 1000, aisles: int = 10, picks: str = "5:30", seed: int = 1) -> None:
    low, high = (int(x) for x in picks.split(":"))
    rng = random.Random(seed)
    layout = Layout(aisles=aisles, aisle_length=30, aisle_spacing=4, depot_aisle=0)
    optimal, s_lengths, gap_lengths, seconds = [], [], [], []
    for _ in range(lists):
        pick_list = [(rng.randrange(aisles), float(rng.randint(1, 29))) for _ in range(rng.randint(low, high))]
        started = time.perf_counter()
        optimal.append(shortest_route(layout, pick_list).length)
        seconds.append(time.perf_counter() - started)
        s_lengths.append(s_shape(layout, pick_list))
        gap_lengths.append(largest_gap(layout, pick_list))
    blocks = BlockLayout(aisles=aisles, cross_aisles=(0.0, 15.0, 30.0), aisle_spacing=4, depot_aisle=0)
    multi, multi_s, multi_gap, multi_seconds = [], [], [], []
    for _ in range(lists):
        pick_list = [(rng.randrange(aisles), float(rng.randint(1, 29))) for _ in range(rng.randint(low, high))]
        started = time.perf_counter()
        route = block_route(blocks, pick_list)
        multi_seconds.append(time.perf_counter() - started)
        multi.append(route.length)
        multi_s.append(route.heuristics["s_shape"])
        multi_gap.append(route.heuristics["largest_gap"])
    print(json.dumps({
        "bench": "routes", "layout": "two-block", "lists": lists, "aisles": aisles, "picks": picks,
        "avg_route": round(statistics.fmean(multi), 2),
        "avg_s_shape": round(statistics.fmean(multi_s), 2),
        "avg_largest_gap": round(statistics.fmean(multi_gap), 2),
        "ms_per_route_p50": round(sorted(multi_seconds)[len(multi_seconds) // 2] * 1000, 3),
    }))
    print(json.dumps({
        "bench": "routes", "layout": "single-block", "lists": lists, "aisles": aisles, "picks": picks,
        "avg_optimal": round(statistics.fmean(optimal), 2),
        "avg_s_shape": round(statistics.fmean(s_lengths), 2),
        "avg_largest_gap": round(statistics.fmean(gap_lengths), 2),
        "saving_vs_best_heuristic": round(
            1 - statistics.fmean(optimal) / statistics.fmean(map(min, s_lengths, gap_lengths)), 4
        ),
        "ms_per_route_p50": round(sorted(seconds)[len(seconds) // 2] * 1000, 3),
    }))


if __name__ == "__main__":
    typer.run(main)
