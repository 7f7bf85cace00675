"""Per-process copies of the reference tables (SKUs, shops, warehouses, review rule sets), kept
for as long as the database's reference generation stays the same.

Every write to one of those tables moves the single row of ``reference_generation`` on: its number
grows by one and its token becomes a new random number (database triggers, migration 0017, so a
write from any process, the CLI or plain SQL counts). The token makes a generation seen inside a
transaction that was rolled back impossible to see again. A command reads the generation once, at
its first cached look-up (or with a statement of its own before that: ``seen``), and then uses the
copies made under it — as fresh as reading the rows at that moment, with one small query instead
of one per table. Its own writes to reference tables make the next look-up read the generation
again, so a command never reads copies older than its own changes. A copy is made after its
generation was read, so it is never older than the generation it is filed under.

Without a cache in the session (a bare ``Session``), or without the generation row, every look-up
reads the database.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy import BigInteger, Float, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from ordo.adapters.db import prepared
from ordo.adapters.db.base import Base

T = TypeVar("T")

REFERENCE_TABLES = frozenset({"skus", "shops", "warehouses", "review_rule_sets"})
_CACHE = "ordo.reference_cache"
_SEEN = "ordo.reference_generation"


class ReferenceGeneration(Base):
    """One row, moved on by the triggers on every write to a reference table."""

    __tablename__ = "reference_generation"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(BigInteger)
    token: Mapped[float] = mapped_column(Float)


class ReferenceCache:
    """The copies of one process (shared by its threads), all made under one generation; at most
    ``limit`` of them (beyond that, the copies are dropped and made again as needed)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._generation: tuple[int, float] | None = None
        self._copies: dict[Hashable, Any] = {}
        self.reads = 0  # look-ups that went to the database (for tests and benchmarks)

    def get(self, generation: tuple[int, float], key: Hashable) -> tuple[bool, Any]:
        with self._lock:
            if generation != self._generation:
                return False, None
            return (True, self._copies[key]) if key in self._copies else (False, None)

    @property
    def generation(self) -> tuple[int, float] | None:
        """The generation the copies are of (the newest this process has read), if any."""
        with self._lock:
            return self._generation

    def put(self, generation: tuple[int, float], key: Hashable, value: Any) -> None:
        with self._lock:
            if generation != self._generation or len(self._copies) >= self.limit:
                self._generation, self._copies = generation, {}
            self._copies[key] = value


def attach(sessions: sessionmaker[Session], cache: ReferenceCache) -> None:
    """Give the sessions of this factory the cache, and forget the generation a session read as
    soon as it writes a reference table itself."""
    sessions.kw.setdefault("info", {})[_CACHE] = cache
    event.listen(sessions, "after_flush", _after_flush)
    event.listen(sessions, "do_orm_execute", _on_execute)


def _after_flush(session: Session, _context: Any) -> None:
    for row in (*session.new, *session.dirty, *session.deleted):
        if getattr(row, "__tablename__", None) in REFERENCE_TABLES:
            session.info.pop(_SEEN, None)
            return


def _on_execute(state: Any) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if getattr(table, "name", None) in REFERENCE_TABLES:
            state.session.info.pop(_SEEN, None)


_GENERATION = select(ReferenceGeneration.number, ReferenceGeneration.token).where(ReferenceGeneration.id == 1)

# The generation as two columns of a statement of the caller's own (``seen``): a command whose
# first statement is known saves the generation's own query.
GENERATION_NUMBER = (select(ReferenceGeneration.number).where(ReferenceGeneration.id == 1)
                     .scalar_subquery().label("generation_number"))
GENERATION_TOKEN = (select(ReferenceGeneration.token).where(ReferenceGeneration.id == 1)
                    .scalar_subquery().label("generation_token"))


def offline(cache: ReferenceCache) -> tuple[Session, tuple[int, float]] | None:
    """A session with no database behind it whose look-ups answer from ``cache`` as of its newest
    generation, and that generation; None before the process has made any copy. A look-up whose
    copy is missing raises ``UnboundExecutionError``. For work done before a command's transaction
    on copies that are probably current, checked against the generation the transaction reads."""
    generation = cache.generation
    if generation is None:
        return None
    return Session(info={_CACHE: cache, _SEEN: generation}), generation


def seen(session: Session, number: int | None, token: float | None) -> None:
    """The generation read (``GENERATION_NUMBER``, ``GENERATION_TOKEN``) by a statement that ran
    before the session's first cached look-up: the look-ups use it instead of reading it again."""
    if _SEEN not in session.info and session.info.get(_CACHE) is not None:
        session.info[_SEEN] = (int(number), float(token)) if number is not None and token is not None else None


def _generation(session: Session) -> tuple[int, float] | None:
    if _SEEN not in session.info:
        row = prepared.execute(prepared.connection(session), _GENERATION).first()
        session.info[_SEEN] = (int(row.number), float(row.token)) if row is not None else None
    return session.info[_SEEN]  # type: ignore[no-any-return]


def _current(session: Session) -> tuple[ReferenceCache, tuple[int, float]] | None:
    """The process's copies and the generation they must be of, if this session keeps copies."""
    cache: ReferenceCache | None = session.info.get(_CACHE)
    generation = _generation(session) if cache is not None else None
    return None if cache is None or generation is None else (cache, generation)


def cached(session: Session, key: Hashable, load: Callable[[Session], T]) -> T:
    """The copy filed under ``key`` for the current generation, else ``load(session)``, kept."""
    current = _current(session)
    if current is None:
        return load(session)
    cache, generation = current
    found, value = cache.get(generation, key)
    if found:
        return value  # type: ignore[no-any-return]
    cache.reads += 1
    value = load(session)
    cache.put(generation, key, value)
    return value


def cached_many(session: Session, kind: str, keys: list[Any],
                load: Callable[[Session, list[Any]], dict[Any, T]]) -> dict[Any, T | None]:
    """Copies of many rows of one kind (``(kind, key)`` each): the missing ones read at once with
    ``load(session, missing keys)``, which returns what it found; a key it did not find is kept as
    ``None`` (a code with no active SKU stays unknown until the next write)."""
    current = _current(session)
    if current is None:
        found = load(session, keys)
        return {k: found.get(k) for k in keys}
    cache, generation = current
    result: dict[Any, T | None] = {}
    missing = []
    for key in keys:
        hit, value = cache.get(generation, (kind, key))
        if hit:
            result[key] = value
        else:
            missing.append(key)
    if missing:
        cache.reads += 1
        loaded = load(session, missing)
        for key in missing:
            result[key] = loaded.get(key)
            cache.put(generation, (kind, key), result[key])
    return result


def keep_many(session: Session, kind: str, values: dict[Any, Any]) -> None:
    """File copies read some other way (SKUs read by code, kept by id too)."""
    cache: ReferenceCache | None = session.info.get(_CACHE)
    generation = session.info.get(_SEEN) if cache is not None else None
    if cache is not None and generation is not None:
        for key, value in values.items():
            cache.put(generation, (kind, key), value)
