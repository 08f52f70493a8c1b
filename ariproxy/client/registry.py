"""The explicit map from request kinds and ARI operations to client methods.

Methods are tagged where they are defined (``@sends("ChannelAnswer")``,
``@sends(ari=("channels", "move"))``) and classes are registered with
``@registered``; ``operation_table()`` lists every (kind, ARI operation,
method) row.  A test walks kinds.tsv and the ARI spec against it, so an
operation without a client method fails the build.
"""
from typing import NamedTuple

__all__ = ["sends", "registered", "operation_table", "Row", "by_kind", "by_operation"]


class Row(NamedTuple):
    """One mapping row: ``kind`` (None for the generic kind), ``ari`` ((resource, nickname) or None),
    ``method`` ("Class.method"), ``owner`` (the class)."""

    kind: str
    ari: tuple
    method: str
    owner: type


_ROWS = []


def sends(kind=None, ari=None, also=()):
    """Tag a method: it sends request ``kind`` (or the generic kind for ARI operation ``ari``).

    ``also`` names further ARI operations the same method covers (e.g. a
    create that the server performs with ``createWithId``).
    """
    def tag(func):
        tags = list(getattr(func, "_sends", ()))
        tags.append((kind, tuple(ari) if ari else None))
        for extra in also:
            tags.append((None if kind is None else kind, tuple(extra)))
        func._sends = tags
        return func
    return tag


def registered(cls):
    """Class decorator: record the tagged methods of ``cls`` in the table.

    Methods made by factories (``_command``, ``_lister``, ...) get their real
    name and qualified name, so ``help()`` and tracebacks read
    ``Channel.answer(self)`` instead of ``method(self)``.
    """
    for name, value in vars(cls).items():
        if callable(value) and getattr(value, "_sends", None) is not None and "<locals>" in getattr(
                value, "__qualname__", ""):
            value.__name__ = name
            value.__qualname__ = "%s.%s" % (cls.__name__, name)
            value.__module__ = cls.__module__
        for kind, ari in getattr(value, "_sends", ()):
            _ROWS.append(Row(kind, ari, "%s.%s" % (cls.__name__, name), cls))
    return cls


def operation_table():
    """Every row, in definition order."""
    return list(_ROWS)


def by_kind():
    """kind -> list of method names."""
    out = {}
    for row in _ROWS:
        if row.kind:
            out.setdefault(row.kind, []).append(row.method)
    return out


def by_operation():
    """(resource, nickname) -> list of method names: the generic rows, the extra operations
    tagged with ``also``, and the ARI operation of each kind a method sends."""
    from ariproxy.protocol.kinds import KINDS
    out = {}
    for row in _ROWS:
        ops = [row.ari] if row.ari else []
        spec = KINDS.get(row.kind) if row.kind else None
        if spec is not None and spec.operation:
            ops.append((spec.resource, spec.operation))
        for op in ops:
            methods = out.setdefault(op, [])
            if row.method not in methods:
                methods.append(row.method)
    return out
