"""Value classes without ``dataclasses``, for the classes every process imports.

kustomize runs the KRM function as one process per build, and ``check`` and ``render`` are
processes too: start-up is a large part of what they cost. On CPython 3.11, importing
``dataclasses`` imports ``inspect`` (about 10 ms), and every dataclass compiles its generated
methods from source when its module is imported (about 0.6 ms a class). The value classes on
the way of the KRM function and of ``check`` are therefore written out: each lists its
``FIELDS`` and has an ``__init__`` of its own (compiled once, into the module's bytecode), and
takes from here what they all share, as ``@dataclass(frozen=True)`` would give it: equality
and hash over the fields compared, a repr, no attribute set once made (``object.__setattr__``
in ``__init__`` sets them), and ``replace``. ``Mutable`` is the same without the freezing, as
a plain ``@dataclass`` (equality and repr over the fields, no hash), for what a process builds
up in place (a report, the loaded repository, render's plan).
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Any, ClassVar, TypeVar

R = TypeVar("R", bound="_Fields")


class _Fields:
    """``FIELDS`` in ``__init__`` order; ``COMPARED`` (default: all of them) decide equality;
    ``SHOWN`` (default: all) the repr. Defining ``__eq__`` leaves ``__hash__`` None: only
    ``Record`` is hashable."""

    FIELDS: ClassVar[tuple[str, ...]] = ()
    COMPARED: ClassVar[tuple[str, ...] | None] = None
    SHOWN: ClassVar[tuple[str, ...] | None] = None
    # The compared fields' values as a tuple, read in C: resource IDs key every index, and a
    # hash of several attributes read one by one in Python costs three times as much.
    _values: ClassVar[Callable[[Any], tuple[Any, ...]]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        compared = cls.COMPARED or cls.FIELDS
        if len(compared) == 1:  # attrgetter of one name gives the value, not a one-tuple
            one = attrgetter(compared[0])
            cls._values = lambda record: (one(record),)
        elif compared:
            cls._values = attrgetter(*compared)

    def _key(self) -> tuple[Any, ...]:
        return type(self)._values(self)

    def __eq__(self, other: object) -> bool:
        cls = self.__class__
        if other.__class__ is not cls:
            return NotImplemented
        return cls._values(self) == cls._values(other)

    def __repr__(self) -> str:
        shown = ", ".join(f"{f}={getattr(self, f)!r}" for f in self.SHOWN or self.FIELDS)
        return f"{type(self).__qualname__}({shown})"

    def replace(self: R, **changes: Any) -> R:
        """A copy with ``changes`` (``dataclasses.replace``)."""
        unknown = set(changes) - set(self.FIELDS)
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field {sorted(unknown)[0]!r}")
        return type(self)(**{f: changes.get(f, getattr(self, f)) for f in self.FIELDS})


class Record(_Fields):
    """A frozen value: equal and hashed by its compared fields, no attribute set once made."""

    def __hash__(self) -> int:
        return hash(self.__class__._values(self))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"cannot assign to field {name!r}: {type(self).__name__} is frozen")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}: {type(self).__name__} is frozen")


class Ordered(Record):
    """A ``Record`` ordered by its compared fields, in order (``order=True``)."""

    def __lt__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._key() < other._key()  # type: ignore[attr-defined, no-any-return]

    def __le__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._key() <= other._key()  # type: ignore[attr-defined, no-any-return]

    def __gt__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._key() > other._key()  # type: ignore[attr-defined, no-any-return]

    def __ge__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._key() >= other._key()  # type: ignore[attr-defined, no-any-return]


class Mutable(_Fields):
    """A value built up in place (``@dataclass`` without ``frozen``): equal by its compared
    fields, shown by its fields, its attributes set freely, and unhashable. A field whose
    dataclass default was ``field(default_factory=...)`` takes None in ``__init__`` and makes
    a new list, set or dict for each instance."""
