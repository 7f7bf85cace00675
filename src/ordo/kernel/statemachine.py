"""An explicit transition table: (state, trigger) → next state. Anything not listed is refused."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ordo.kernel.errors import IllegalTransition


@dataclass(frozen=True)
class StateMachine:
    entity: str
    transitions: Mapping[tuple[str, str], str]

    @property
    def states(self) -> frozenset[str]:
        return frozenset({s for s, _ in self.transitions} | set(self.transitions.values()))

    @property
    def triggers(self) -> frozenset[str]:
        return frozenset(t for _, t in self.transitions)

    def allowed(self, state: str) -> list[str]:
        return sorted(t for s, t in self.transitions if s == state)

    def can(self, state: str, trigger: str) -> bool:
        return (state, trigger) in self.transitions

    def fire(self, state: str, trigger: str) -> str:
        try:
            return self.transitions[(state, trigger)]
        except KeyError:
            raise IllegalTransition(self.entity, state, trigger, self.allowed(state)) from None
