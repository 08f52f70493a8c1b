"""The client's events: :class:`ariproxy.protocol.Event` plus handles for the entities they name.

``event.channel`` (``.bridge``, ``.playback``, ``.recording``, ``.endpoint``, ``.peer``,
``.caller``, ... whatever entity fields the event's type has in the ARI spec) is a handle
(:class:`~ariproxy.client.Channel`, ...) carrying the event's node, application and dialog,
so ``event.channel.hangup()`` goes straight to the server that owns the channel.  A field
the event does not carry reads as None; a name that is no entity field of the type raises
AttributeError.  ``event.entities`` lists the handles of every entity the event references.
Nothing here blocks.
"""
from ariproxy.protocol import Event, Key
from ariproxy.protocol.events import _FALLBACK_FIELDS, EVENT_ENTITY_FIELDS, _read_id

__all__ = ["ClientEvent"]


def _entity_fields(event_type):
    """{top-level field: (key kind, id reader)} of ``event_type`` (unknown types: the common fields)."""
    fields = EVENT_ENTITY_FIELDS.get(event_type, _FALLBACK_FIELDS)
    return {path[0]: (kind, reader) for path, kind, reader in fields if len(path) == 1}


class ClientEvent(Event):
    """An event as the client delivers it: a read-only mapping of its fields with entity handles."""

    __slots__ = ("_conn",)

    @classmethod
    def decode_for(cls, raw, conn):
        """Decode ``raw`` (ProtocolError when it is no event) for the client connection ``conn``."""
        event = cls.decode(raw)
        event._conn = conn
        return event

    def _client(self):
        try:
            conn = object.__getattribute__(self, "_conn")
        except AttributeError:
            return None
        return conn.live_client() if conn is not None else None

    def _handle(self, key):
        client = self._client()
        if client is None:
            return key
        return client._handle_for(key)

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        fields = _entity_fields(self.type)
        if name not in fields:
            raise AttributeError("%s events have no entity field %r (entity fields: %s; other fields: "
                                 "event[%r])" % (self.type, name, ", ".join(sorted(fields)) or "none", name))
        kind, reader = fields[name]
        entity = _read_id(self.body.get(name), reader)
        if not entity:
            return None
        return self._handle(Key(kind, entity, self.asterisk_id, self.dialog, self.application))

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(_entity_fields(self.type)))

    @property
    def entities(self):
        """Handles of every entity the event references (Keys when the client is closed)."""
        return [self._handle(key._replace(dialog=self.dialog)) for key in self.keys()]
