"""Dialog bindings: which dialogs follow which ARI entities (PROTOCOL.md section 8).

A request whose key carries ``dialog`` binds that dialog to the entities the
request touches; from then on every event referencing one of those entities
is also published on ``<prefix>dialogevent.<dialog>``.  The Go server never
forgets a binding; this table drops an entity's bindings when Asterisk says
the entity is gone (``ChannelDestroyed``, ``BridgeDestroyed``,
``PlaybackFinished``, ``RecordingFinished``, ``RecordingFailed``: the
protocol layer's ``Event.destroys()``) and, as a last resort against
entities that never end (staged but never created, endpoints, device
states), evicts the oldest entity past ``max_entities``.

Pure data structure: no I/O, nothing blocks, safe between greenlets (no
method yields).
"""
from collections import OrderedDict

__all__ = ["DialogBindings"]


class DialogBindings:
    """``(kind, id) -> {dialog, ...}``, bounded.

    ``max_entities`` caps the number of bound entities; past it the entity
    bound longest ago is dropped and counted in ``evicted``.
    """

    def __init__(self, max_entities=100000):
        self.max_entities = max_entities
        self._by_entity = OrderedDict()
        self.evicted = 0

    def __len__(self):
        return len(self._by_entity)

    def __repr__(self):
        return "<DialogBindings entities=%d evicted=%d>" % (len(self._by_entity), self.evicted)

    def bind(self, dialog, kind, entity_id):
        """Bind ``dialog`` to the entity; empty parts are ignored (returns False)."""
        if not dialog or not kind or not entity_id:
            return False
        entity = (kind, entity_id)
        dialogs = self._by_entity.get(entity)
        if dialogs is None:
            self._by_entity[entity] = {dialog}
            while len(self._by_entity) > self.max_entities:
                self._by_entity.popitem(last=False)
                self.evicted += 1
        else:
            dialogs.add(dialog)
        return True

    def dialogs_for(self, keys):
        """The dialogs bound to any of ``keys`` (objects with ``.kind`` and ``.id``), in first-seen order."""
        found = []
        by_entity = self._by_entity
        for key in keys:
            dialogs = by_entity.get((key.kind, key.id))
            if dialogs:
                for dialog in dialogs:
                    if dialog not in found:
                        found.append(dialog)
        return found

    def dialogs(self):
        """Every dialog bound to at least one entity (a new set)."""
        out = set()
        for dialogs in self._by_entity.values():
            out |= dialogs
        return out

    def entity_dialogs(self, kind, entity_id):
        """The dialogs bound to one entity (a new set; empty when none)."""
        return set(self._by_entity.get((kind, entity_id), ()))

    def unbind(self, dialog, kind, entity_id):
        """Stop sending one entity's events to one dialog; True when it was bound."""
        dialogs = self._by_entity.get((kind, entity_id))
        if not dialogs or dialog not in dialogs:
            return False
        dialogs.discard(dialog)
        if not dialogs:
            del self._by_entity[(kind, entity_id)]
        return True

    def forget(self, kind, entity_id):
        """Drop every binding of one entity; True when it had any."""
        return self._by_entity.pop((kind, entity_id), None) is not None

    def clear(self):
        """Forget everything (the Asterisk behind the server was replaced)."""
        self._by_entity.clear()
