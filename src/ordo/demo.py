"""Demo data set (being written)."""

from __future__ import annotations

from rich.console import Console

from ordo.bootstrap import Ordo


def load_demo(ordo: Ordo, *, orders: int, seed: int, if_empty: bool, console: Console) -> None:
    raise NotImplementedError
