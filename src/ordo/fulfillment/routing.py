"""Shortest pick routes on a single-block warehouse (Ratliff & Rosenthal, 1983). Pure.

The layout: ``aisles`` parallel aisles ``aisle_length`` long, ``aisle_spacing`` apart, joined by a
front cross aisle (y = 0) and a back one (y = aisle_length); the depot sits at the front of one
aisle. A route is a closed walk from the depot through every pick location.

The dynamic programme walks the aisles left to right. Its state describes the partial route at the
current aisle's two ends (front ``a`` and back ``b``): each end's degree (none, odd, even) and
whether the two ends are already connected, plus "done" once the route has closed. Instead of the
paper's hand-written table of seven classes, transitions are computed by applying the edges of each
option to that abstract state, which yields the same classes and is easier to check. Each aisle
offers the paper's vertical options (none, traverse, traverse twice, return from the front, return
from the back, leave one gap between neighbouring picks); between aisles the cross-aisle edges may
be used 0, 1 or 2 times at the front and at the back. The route is read back from the chosen edges
as an Euler circuit starting at the depot.
"""

from __future__ import annotations

import heapq
import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum

Point = tuple[int, float]  # (aisle index, distance from the front cross aisle)


@dataclass(frozen=True)
class Layout:
    aisles: int
    aisle_length: float
    aisle_spacing: float
    depot_aisle: int = 0

    def distance(self, p: Point, q: Point) -> float:
        """Shortest travel between two points of the aisles (through a cross aisle if needed)."""
        (i, y), (j, z) = p, q
        if i == j:
            return abs(y - z)
        return abs(i - j) * self.aisle_spacing + min(y + z, 2 * self.aisle_length - y - z)


@dataclass(frozen=True)
class Route:
    length: float
    stops: tuple[Point, ...]  # pick locations in visiting order, starting and ending at the depot


class Deg(IntEnum):
    ZERO = 0
    ODD = 1
    EVEN = 2


def _add(deg: Deg, edges: int) -> Deg:
    if edges == 0:
        return deg
    odd = (deg == Deg.ODD) ^ (edges % 2 == 1)
    return Deg.ODD if odd else Deg.EVEN


@dataclass(frozen=True)
class _State:
    a: Deg
    b: Deg
    joined: bool  # a and b in one component (only meaningful when both have edges)
    done: bool  # the route has closed behind us


@dataclass(frozen=True)
class _Vertical:
    """One way to cover an aisle: edges at the front end, at the back end, whether it links them."""

    cost: float
    front: int  # edges incident to the front end
    back: int
    links: bool
    # vertical segments as (y_from, y_to) for reading the route back
    segments: tuple[tuple[float, float], ...]


def _verticals(ys: Sequence[float], length: float) -> list[_Vertical]:
    if not ys:
        return [
            _Vertical(0.0, 0, 0, False, ()),
            _Vertical(length, 1, 1, True, ((0.0, length),)),
            _Vertical(2 * length, 2, 2, True, ((0.0, length), (length, 0.0))),
        ]
    low, high = ys[0], ys[-1]
    options = [
        _Vertical(length, 1, 1, True, ((0.0, length),)),
        _Vertical(2 * length, 2, 2, True, ((0.0, length), (length, 0.0))),
        _Vertical(2 * high, 2, 0, False, ((0.0, high), (high, 0.0))),
        _Vertical(2 * (length - low), 0, 2, False, ((length, low), (low, length))),
    ]
    for lower, upper in itertools.pairwise(ys):
        if upper > lower:
            options.append(
                _Vertical(
                    2 * lower + 2 * (length - upper),
                    2,
                    2,
                    False,
                    ((0.0, lower), (lower, 0.0), (length, upper), (upper, length)),
                )
            )
    return options


def _apply_vertical(state: _State, v: _Vertical) -> _State | None:
    if state.done:
        return state if v.front == v.back == 0 else None
    a, b = _add(state.a, v.front), _add(state.b, v.back)
    if v.links:
        joined = True
    elif state.a and state.b:
        joined = state.joined
    else:
        joined = False
    return _State(a, b, joined, False)


def _apply_horizontal(state: _State, front: int, back: int, *, required_here: bool) -> _State | None:
    """Leave the current aisle's ends (they must end even) and enter the next aisle's."""
    if state.done:
        return state if front == back == 0 and not required_here else None
    a, b = _add(state.a, front), _add(state.b, back)
    if Deg.ODD in (a, b):
        return None
    if required_here and a == Deg.ZERO:
        return None  # the depot is at this aisle's front and would be left out
    at_a, at_b = state.a != Deg.ZERO, state.b != Deg.ZERO  # where the partial route touches this aisle
    onward_a, onward_b = front > 0, back > 0
    if not (at_a or at_b):
        return _State(_enter(front), _enter(back), False, False)  # nothing started yet (or starts now)
    if at_a and at_b and not state.joined:
        # two components: each must go on, or the one that stops is cut off for ever
        if not (onward_a and onward_b):
            return None
        return _State(_enter(front), _enter(back), False, False)
    # one component, touching a, b or both
    carried = (at_a and onward_a) or (at_b and onward_b)
    if not carried:
        if onward_a or onward_b:
            return None  # edges that start a new component while the route closes
        return _State(Deg.ZERO, Deg.ZERO, False, True)  # the route closes here
    # a new edge from an end the component does not touch starts a second component
    joined = onward_a and onward_b and at_a and at_b
    return _State(_enter(front), _enter(back), joined, False)


def _enter(edges: int) -> Deg:
    return _add(Deg.ZERO, edges)


def shortest_route(layout: Layout, picks: Iterable[Point]) -> Route:
    """The optimal closed route from the depot through every pick (single block)."""
    by_aisle = _group(layout, picks)
    if not by_aisle:
        return Route(0.0, ())
    for ys in by_aisle.values():
        ys.sort()
    length, spacing = layout.aisle_length, layout.aisle_spacing
    Choice = tuple[_Vertical, int, int]
    best: dict[_State, tuple[float, tuple[Choice, ...]]] = {_State(Deg.ZERO, Deg.ZERO, False, False): (0.0, ())}
    for aisle in range(layout.aisles):
        covered: dict[_State, tuple[float, tuple[Choice, ...], _Vertical]] = {}
        for state, (cost, path) in best.items():
            for v in _verticals(by_aisle.get(aisle, []), length):
                nxt = _apply_vertical(state, v)
                if nxt is not None and (nxt not in covered or cost + v.cost < covered[nxt][0]):
                    covered[nxt] = (cost + v.cost, path, v)
        best = {}
        last = aisle == layout.aisles - 1
        for state, (cost, path, v) in covered.items():
            for front in (0, 1, 2):
                for back in (0, 1, 2):
                    if last and (front or back):
                        continue
                    nxt = _apply_horizontal(state, front, back, required_here=aisle == layout.depot_aisle)
                    total = cost + (front + back) * spacing
                    if nxt is not None and (nxt not in best or total < best[nxt][0]):
                        best[nxt] = (total, (*path, (v, front, back)))
    finals = [(cost, path) for state, (cost, path) in best.items() if state.done]
    if not finals:
        raise ValueError("no route covers the picks")  # cannot happen on a connected layout
    cost, path = min(finals, key=lambda item: item[0])
    return Route(round(cost, 9), _read_route(layout, path, by_aisle))


def _read_route(
    layout: Layout, path: Sequence[tuple[_Vertical, int, int]], by_aisle: dict[int, list[float]]
) -> tuple[Point, ...]:
    """Euler circuit of the chosen edges from the depot; the picks in the order first reached."""
    graph: dict[Point, list[Point]] = defaultdict(list)

    def edge(p: Point, q: Point) -> None:
        graph[p].append(q)
        graph[q].append(p)

    length = layout.aisle_length
    for aisle, (v, front, back) in enumerate(path):
        for y0, y1 in v.segments:
            lo, hi = sorted((y0, y1))
            stops = sorted({lo, hi, *(y for y in by_aisle.get(aisle, []) if lo <= y <= hi)})
            for p, q in itertools.pairwise(stops):
                edge((aisle, p), (aisle, q))
        for _ in range(front):
            edge((aisle, 0.0), (aisle + 1, 0.0))
        for _ in range(back):
            edge((aisle, length), (aisle + 1, length))
    depot = (layout.depot_aisle, 0.0)
    circuit: list[Point] = []
    stack = [depot]
    while stack:
        node = stack[-1]
        if graph[node]:
            nxt = graph[node].pop()
            graph[nxt].remove(node)
            stack.append(nxt)
        else:
            circuit.append(stack.pop())
    circuit.reverse()
    wanted = {(a, y) for a, ys in by_aisle.items() for y in ys}
    seen: list[Point] = []
    for point in circuit:
        if point in wanted and point not in seen:
            seen.append(point)
    return tuple(seen)


def s_shape(layout: Layout, picks: Iterable[Point]) -> float:
    """The S-shape heuristic: traverse every aisle that holds a pick entirely; with an odd number of
    such aisles, the last one is entered from the front and left the same way."""
    by_aisle = _group(layout, picks)
    if not by_aisle:
        return 0.0
    aisles = sorted(by_aisle)
    length = layout.aisle_length
    left, right = min(aisles[0], layout.depot_aisle), max(aisles[-1], layout.depot_aisle)
    travel = 2 * (right - left) * layout.aisle_spacing
    if len(aisles) % 2 == 0:
        return travel + len(aisles) * length
    last = aisles[-1] if abs(aisles[-1] - layout.depot_aisle) >= abs(aisles[0] - layout.depot_aisle) else aisles[0]
    return travel + (len(aisles) - 1) * length + 2 * max(by_aisle[last])


def largest_gap(layout: Layout, picks: Iterable[Point]) -> float:
    """The largest-gap heuristic: the outermost aisles with picks are traversed; every other aisle
    is entered from the front and from the back, leaving out its largest gap."""
    by_aisle = _group(layout, picks)
    if not by_aisle:
        return 0.0
    aisles = sorted(by_aisle)
    length = layout.aisle_length
    left, right = min(aisles[0], layout.depot_aisle), max(aisles[-1], layout.depot_aisle)
    horizontal = 2 * (right - left) * layout.aisle_spacing
    if len(aisles) == 1:
        return horizontal + 2 * max(by_aisle[aisles[0]])
    vertical = 2 * length  # the first and the last aisle, traversed
    for aisle in aisles[1:-1]:
        ys = sorted(by_aisle[aisle])
        gaps = [ys[0], *(b - a for a, b in itertools.pairwise(ys)), length - ys[-1]]
        # leaving the gap from the front (ys[0]) means serving everything from the back, and vice versa
        vertical += 2 * (length - max(gaps))
    return horizontal + vertical


def _group(layout: Layout, picks: Iterable[Point]) -> dict[int, list[float]]:
    by_aisle: dict[int, list[float]] = defaultdict(list)
    for aisle, y in picks:
        if not 0 <= aisle < layout.aisles or not 0 <= y <= layout.aisle_length:
            raise ValueError(f"pick {(aisle, y)} is outside the layout")
        by_aisle[aisle].append(float(y))
    return by_aisle


# --- multi-block layouts -------------------------------------------------------------------------


@dataclass(frozen=True)
class BlockLayout:
    """Parallel aisles cut into blocks by cross aisles at ``cross_aisles`` (distances from the front,
    the first 0 and the last the aisle length)."""

    aisles: int
    cross_aisles: tuple[float, ...]
    aisle_spacing: float
    depot_aisle: int = 0

    @property
    def aisle_length(self) -> float:
        return self.cross_aisles[-1]


def _graph(layout: BlockLayout, points: Iterable[Point]) -> dict[Point, dict[Point, float]]:
    by_aisle: dict[int, set[float]] = defaultdict(set)
    for aisle in range(layout.aisles):
        by_aisle[aisle].update(layout.cross_aisles)
    for aisle, y in points:
        by_aisle[aisle].add(float(y))
    graph: dict[Point, dict[Point, float]] = defaultdict(dict)
    for aisle, ys in by_aisle.items():
        ordered = sorted(ys)
        for lo, hi in itertools.pairwise(ordered):
            graph[(aisle, lo)][(aisle, hi)] = graph[(aisle, hi)][(aisle, lo)] = hi - lo
    for aisle in range(layout.aisles - 1):
        for y in layout.cross_aisles:
            a, b = (aisle, float(y)), (aisle + 1, float(y))
            graph[a][b] = graph[b][a] = layout.aisle_spacing
    return graph


def _distances(graph: dict[Point, dict[Point, float]], sources: Iterable[Point]) -> dict[Point, dict[Point, float]]:
    result: dict[Point, dict[Point, float]] = {}
    for source in sources:
        best = {source: 0.0}
        queue = [(0.0, source)]
        while queue:
            d, node = heapq.heappop(queue)
            if d > best[node]:
                continue
            for nxt, w in graph[node].items():
                if d + w < best.get(nxt, float("inf")):
                    best[nxt] = d + w
                    heapq.heappush(queue, (d + w, nxt))
        result[source] = best
    return result


def _tour_length(order: Sequence[Point], dist: dict[Point, dict[Point, float]], depot: Point) -> float:
    walk = [depot, *order, depot]
    return sum(dist[p][q] for p, q in itertools.pairwise(walk))


def _improve(order: list[Point], dist: dict[Point, dict[Point, float]], depot: Point) -> list[Point]:
    """2-opt and single-point moves until nothing shortens the tour."""
    best, best_len = order, _tour_length(order, dist, depot)
    improved = True
    while improved:
        improved = False
        for i in range(len(best)):
            for j in range(i + 1, len(best)):
                candidate = best[:i] + best[i : j + 1][::-1] + best[j + 1 :]
                length = _tour_length(candidate, dist, depot)
                if length < best_len - 1e-9:
                    best, best_len, improved = candidate, length, True
            for j in range(len(best)):
                if i == j:
                    continue
                moved = best[:i] + best[i + 1 :]
                candidate = [*moved[:j], best[i], *moved[j:]]
                length = _tour_length(candidate, dist, depot)
                if length < best_len - 1e-9:
                    best, best_len, improved = candidate, length, True
    return best


def block_heuristic_orders(layout: BlockLayout, picks: Sequence[Point]) -> dict[str, list[Point]]:
    """Visiting orders of the S-shape and largest-gap heuristics, applied block by block from the
    farthest block to the nearest: within a block, aisles are taken in a serpentine order; S-shape
    walks each aisle through, largest gap serves each aisle's picks from the nearer cross aisle."""
    blocks = list(itertools.pairwise(layout.cross_aisles))

    def block_of(y: float) -> int:
        return next(i for i, (lo, hi) in enumerate(blocks) if lo <= y <= hi)

    grouped: dict[int, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for aisle, y in picks:
        grouped[block_of(y)][aisle].append(float(y))
    s_order: list[Point] = []
    gap_order: list[Point] = []
    leftward = False
    for block in sorted(grouped, reverse=True):
        lo, hi = blocks[block]
        aisles = sorted(grouped[block], reverse=leftward)
        downward = True
        for aisle in aisles:
            ys = sorted(grouped[block][aisle], reverse=downward)
            s_order += [(aisle, y) for y in ys]
            downward = not downward
        # largest gap: first the picks nearer the far cross aisle, along the block, then the rest back
        near_far = [(a, y) for a in aisles for y in sorted(grouped[block][a], reverse=True) if y - lo >= (hi - lo) / 2]
        near_front = [(a, y) for a in reversed(aisles) for y in sorted(grouped[block][a]) if y - lo < (hi - lo) / 2]
        gap_order += near_far + near_front
        leftward = not leftward
    return {"s_shape": s_order, "largest_gap": gap_order}


@dataclass(frozen=True)
class BlockRoute:
    length: float
    stops: tuple[Point, ...]
    heuristics: dict[str, float]


def block_route(layout: BlockLayout, picks: Iterable[Point]) -> BlockRoute:
    """A short route on a multi-block layout: the S-shape and largest-gap orders (and a
    nearest-neighbour order) improved by 2-opt and point moves over shortest-path distances; the best
    is kept, so it is never longer than either heuristic."""
    points = list(dict.fromkeys((a, float(y)) for a, y in picks))
    for aisle, y in points:
        if not 0 <= aisle < layout.aisles or not 0 <= y <= layout.aisle_length:
            raise ValueError(f"pick {(aisle, y)} is outside the layout")
    depot = (layout.depot_aisle, 0.0)
    if not points:
        return BlockRoute(0.0, (), {"s_shape": 0.0, "largest_gap": 0.0})
    dist = _distances(_graph(layout, points), [depot, *points])
    orders = block_heuristic_orders(layout, points)
    heuristics = {name: round(_tour_length(order, dist, depot), 9) for name, order in orders.items()}
    nearest: list[Point] = []
    remaining, here = set(points), depot
    while remaining:
        here = min(remaining, key=lambda p: (dist[here][p], p))
        nearest.append(here)
        remaining.remove(here)
    candidates = [_improve(list(order), dist, depot) for order in (*orders.values(), nearest)]
    best = min(candidates, key=lambda order: _tour_length(order, dist, depot))
    return BlockRoute(round(_tour_length(best, dist, depot), 9), tuple(best), heuristics)
