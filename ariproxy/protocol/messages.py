"""Key, Request, Response, EntityData and Announcement: the JSON messages of PROTOCOL.md 2-6.

No I/O.  Encoders return compact UTF-8 JSON bytes and omit empty fields the
way the Go implementation does; decoders are tolerant (unknown fields are
ignored, ``null`` and ``{}`` keys both mean "no key", keys may lack
``kind``, announcements may say ``asterisk`` instead of ``node``) but raise
``ProtocolError`` -- and nothing else -- for input that is not the protocol:
non-JSON, invalid UTF-8, wrong JSON types, oversized messages.
"""
from typing import NamedTuple

from ariproxy.errors import ProtocolError, error_from_text

from .subjects import validate_token
from .wire import dump_json, json_type, load_object, short

__all__ = [
    "Key", "KEY_KINDS", "Request", "Response", "EntityData", "DATA_FIELDS", "Announcement",
    "PAYLOAD_FIELDS", "PING_PAYLOAD",
]

#: key kinds used on the wire (``config`` for dynamic configuration objects)
KEY_KINDS = frozenset([
    "application", "bridge", "channel", "devicestate", "endpoint", "liverecording", "logging",
    "mailbox", "module", "playback", "sound", "storedrecording", "variable", "config",
])

#: EntityData fields (PROTOCOL.md 4); ``variable`` holds a plain string
DATA_FIELDS = (
    "application", "asterisk", "bridge", "channel", "config", "device_state", "endpoint",
    "live_recording", "log", "mailbox", "module", "playback", "sound", "stored_recording",
    "text_message", "variable",
    "ari_call",  # the generic kind's result (ariproxy.protocol.generic)
)
_DATA_FIELD_SET = frozenset(DATA_FIELDS)

#: every request payload field (PROTOCOL.md 3) plus the project's generic ``ari_call``
PAYLOAD_FIELDS = frozenset([
    "application_subscribe", "asterisk_config", "asterisk_logging_channel", "asterisk_variable_set",
    "bridge_add_channel", "bridge_create", "bridge_moh", "bridge_play", "bridge_record",
    "bridge_remove_channel", "bridge_video_source", "channel_create", "channel_continue", "channel_dial",
    "channel_hangup", "channel_moh", "channel_mute", "channel_originate", "channel_play", "channel_record",
    "channel_send_dtmf", "channel_snoop", "channel_external_media", "channel_variable",
    "channel_user_event", "device_state_update", "endpoint_list_by_tech", "mailbox_update",
    "playback_control", "recording_stored_copy", "sound_list", "ari_call",
])

#: what the Go client publishes on ``ari.ping``
PING_PAYLOAD = b'{"kind":"","key":null}'

_KEY_FIELDS = ("kind", "id", "node", "dialog", "app")


class Key(NamedTuple):
    """The address of an ARI entity: immutable, hashable, cheap (a tuple).

    All fields are strings, ``""`` when unset.  An all-empty Key is falsy.
    Equality and hashing use all five fields; ``match`` is the Go client's
    looser comparison (empty fields match anything).
    """

    kind: str = ""
    id: str = ""
    node: str = ""
    dialog: str = ""
    app: str = ""

    def __bool__(self):
        return any(self)

    def __repr__(self):
        parts = ["%s=%r" % (f, v) for f, v in zip(_KEY_FIELDS, self) if v]
        return "Key(%s)" % ", ".join(parts)

    def to_dict(self):
        """The wire form: empty fields omitted (``{}`` for an empty key)."""
        return {f: v for f, v in zip(_KEY_FIELDS, self) if v}

    @classmethod
    def from_dict(cls, data, what="key"):
        """Key from its wire form; None for ``null``.  Unknown fields are ignored."""
        if data is None:
            return None
        if isinstance(data, Key):
            return data
        if not isinstance(data, dict):
            raise ProtocolError("%s: expected an object, got %s" % (what, json_type(data)))
        values = []
        for f in _KEY_FIELDS:
            v = data.get(f)
            if v is None:
                v = ""
            elif not isinstance(v, str):
                raise ProtocolError("%s.%s: expected a string, got %s" % (what, f, json_type(v)))
            values.append(v)
        return tuple.__new__(cls, values)

    def encode(self):
        return dump_json(self.to_dict(), "key")

    @classmethod
    def decode(cls, raw):
        return cls.from_dict(load_object(raw, "key"))

    def new(self, kind, id):
        """A key of another entity on the same node/app/dialog (e.g. the playback a channel starts)."""
        return tuple.__new__(Key, (kind, id, self.node, self.dialog, self.app))

    def with_(self, **fields):
        """A copy with some fields replaced (``key.with_(node=n, app=a)``)."""
        return self._replace(**fields)

    def match(self, other):
        """Go's ``Key.Match``: every field set on both sides must be equal."""
        if other is None:
            return False
        for a, b in zip(self, other):
            if a and b and a != b:
                return False
        return True

    def validate(self):
        """Raise ProtocolError if node, app or dialog (when set) is not a safe subject token."""
        if self.node:
            validate_token("key.node", self.node)
        if self.app:
            validate_token("key.app", self.app)
        if self.dialog:
            validate_token("key.dialog", self.dialog)
        return self


EMPTY_KEY = Key()


_KINDS = None


def _lookup_spec(kind):
    global _KINDS
    if _KINDS is None:
        # late import: kinds.py builds on this module (kept once found: this runs for every request)
        from .kinds import KINDS
        _KINDS = KINDS
    return _KINDS.get(kind)


class Request:
    """A request (PROTOCOL.md 3): ``kind``, a target ``key`` and at most one payload object.

    ``key`` is always a Key (empty when the wire said ``null``, ``{}`` or
    nothing); ``payload_field``/``payload`` are None when there is none.
    """

    __slots__ = ("kind", "key", "payload_field", "payload")

    def __init__(self, kind, key=None, payload_field=None, payload=None):
        self.kind = kind
        if key is None:
            key = EMPTY_KEY
        elif not isinstance(key, Key):
            key = Key.from_dict(key) or EMPTY_KEY
        self.key = key
        self.payload_field = payload_field if payload is not None else None
        self.payload = payload if payload_field else None

    def __repr__(self):
        if self.payload_field:
            return "Request(%r, %r, %s=%s)" % (self.kind, self.key, self.payload_field, short(self.payload, 200))
        return "Request(%r, %r)" % (self.kind, self.key)

    def __eq__(self, other):
        return (isinstance(other, Request) and self.kind == other.kind and self.key == other.key
                and self.payload_field == other.payload_field and self.payload == other.payload)

    def to_dict(self):
        out = {"kind": self.kind, "key": self.key.to_dict()}
        if self.payload_field:
            out[self.payload_field] = self.payload
        return out

    def encode(self):
        """Compact JSON bytes, as the Go client sends them (a missing key is ``{}``)."""
        return dump_json(self.to_dict(), "request")

    @classmethod
    def from_dict(cls, obj):
        if not isinstance(obj, dict):
            raise ProtocolError("request: expected an object, got %s" % json_type(obj))
        kind = obj.get("kind")
        if kind is None:
            kind = ""
        elif not isinstance(kind, str):
            raise ProtocolError("request.kind: expected a string, got %s" % json_type(kind))
        key = Key.from_dict(obj.get("key"), "request.key") or EMPTY_KEY
        field = None
        spec = _lookup_spec(kind) if kind else None
        if spec is not None:
            for name in spec.payload_fields:
                if obj.get(name) is not None:
                    field = name
                    break
        if field is None and len(obj) > 2:
            for name in obj:
                if name in PAYLOAD_FIELDS and obj[name] is not None:
                    field = name
                    break
        payload = None
        if field is not None:
            payload = obj[field]
            if not isinstance(payload, dict):
                raise ProtocolError("request.%s: expected an object, got %s" % (field, json_type(payload)))
        req = cls.__new__(cls)
        req.kind = kind
        req.key = key
        req.payload_field = field
        req.payload = payload
        return req

    @classmethod
    def decode(cls, raw):
        """Request from JSON bytes/str.  Unknown fields are ignored; the payload chosen is the
        one the kind expects when present, else the first known payload field present."""
        return cls.from_dict(load_object(raw, "request"))


class EntityData:
    """The ``data`` of a response: exactly one field named for the resource.

    ``field`` is None for an empty ``{}`` (Go's answer for an unset variable);
    ``value`` is the ARI model dict (with its ``key``) or, for ``variable``, a string.
    """

    __slots__ = ("field", "value")

    def __init__(self, field, value):
        self.field = field
        self.value = value

    def __repr__(self):
        return "EntityData(%r, %s)" % (self.field, short(self.value, 200))

    def __eq__(self, other):
        return isinstance(other, EntityData) and self.field == other.field and self.value == other.value

    @classmethod
    def build(cls, field, value, key=None):
        """EntityData for an ARI model dict; ``key`` (a Key) is added as the object's ``key`` field."""
        if field not in _DATA_FIELD_SET:
            raise ProtocolError("unknown EntityData field %s" % short(field))
        if key is not None and isinstance(value, dict):
            value = dict(value)
            value["key"] = key.to_dict()
        return cls(field, value)

    @property
    def key(self):
        """The Key embedded in the entity object, or None."""
        if isinstance(self.value, dict):
            return Key.from_dict(self.value.get("key"), "data.%s.key" % self.field)
        return None

    def to_dict(self):
        if self.field is None:
            return {}
        if self.field == "variable" and not self.value:
            return {}  # Go omits an empty variable: {"data":{}}
        return {self.field: self.value}

    @classmethod
    def from_dict(cls, data):
        """EntityData from a response's ``data``; None for ``null``.  Unknown fields are ignored."""
        if data is None:
            return None
        if not isinstance(data, dict):
            raise ProtocolError("response.data: expected an object, got %s" % json_type(data))
        for name, value in data.items():
            if name in _DATA_FIELD_SET and value is not None:
                if name == "variable":
                    if not isinstance(value, str):
                        raise ProtocolError("response.data.variable: expected a string, got %s" % json_type(value))
                elif not isinstance(value, dict):
                    raise ProtocolError("response.data.%s: expected an object, got %s" % (name, json_type(value)))
                return cls(name, value)
        return cls(None, None)


class Response:
    """A reply (PROTOCOL.md 4).  ``error`` is "" on success; ``data`` is the EntityData dict
    (``{"channel": {...}}``) or None; ``key`` a Key or None; ``keys`` a list of Keys."""

    __slots__ = ("error", "data", "key", "keys")

    def __init__(self, error="", data=None, key=None, keys=None):
        self.error = error or ""
        if isinstance(data, EntityData):
            data = data.to_dict()
        self.data = data
        if key is not None and not isinstance(key, Key):
            key = Key.from_dict(key)
        self.key = key
        self.keys = list(keys) if keys else []

    def __repr__(self):
        parts = ["error=%r" % self.error] if self.error else []
        if self.data is not None:
            parts.append("data=%s" % short(self.data, 200))
        if self.key is not None:
            parts.append("key=%r" % (self.key,))
        if self.keys:
            parts.append("keys=[%d]" % len(self.keys))
        return "Response(%s)" % ", ".join(parts)

    def __eq__(self, other):
        return (isinstance(other, Response) and self.error == other.error and self.data == other.data
                and self.key == other.key and self.keys == other.keys)

    @property
    def ok(self):
        return not self.error

    @property
    def entity(self):
        """``data`` as an EntityData (None when there is no data)."""
        return EntityData.from_dict(self.data)

    def raise_for_error(self):
        """Raise the ariproxy exception for ``error`` (NotFound for a 404, ...); return self if ok."""
        if self.error:
            raise error_from_text(self.error)
        return self

    def to_dict(self):
        out = {"error": self.error}
        if self.data is not None:
            out["data"] = self.data
        if self.key is not None:
            out["key"] = self.key.to_dict()
        if self.keys:
            out["keys"] = [k.to_dict() for k in self.keys]
        return out

    def encode(self):
        """Compact JSON bytes: ``error`` always, ``data``/``key`` when set, ``keys`` when non-empty."""
        return dump_json(self.to_dict(), "response")

    @classmethod
    def from_dict(cls, obj):
        if not isinstance(obj, dict):
            raise ProtocolError("response: expected an object, got %s" % json_type(obj))
        error = obj.get("error")
        if error is None:
            error = ""
        elif not isinstance(error, str):
            raise ProtocolError("response.error: expected a string, got %s" % json_type(error))
        data = obj.get("data")
        if data is not None and not isinstance(data, dict):
            raise ProtocolError("response.data: expected an object, got %s" % json_type(data))
        key = Key.from_dict(obj.get("key"), "response.key")
        raw_keys = obj.get("keys")
        keys = []
        if raw_keys is not None:
            if not isinstance(raw_keys, list):
                raise ProtocolError("response.keys: expected an array, got %s" % json_type(raw_keys))
            keys = [Key.from_dict(k, "response.keys[%d]" % i) or EMPTY_KEY for i, k in enumerate(raw_keys)]
        resp = cls.__new__(cls)
        resp.error = error
        resp.data = data
        resp.key = key
        resp.keys = keys
        return resp

    @classmethod
    def decode(cls, raw):
        return cls.from_dict(load_object(raw, "response"))


class Announcement:
    """A server's presence (PROTOCOL.md 6): ``{"node": ..., "application": ...}``.

    Decoding reads ``node`` or, from the seed README's form, ``asterisk``;
    encoding writes ``node``.  The node must be a non-empty subject-safe token.

    ariproxy servers add optional fields the protocol does not have (Go
    peers ignore unknown fields): ``instance`` (an id of the announcing
    process, new at every start), ``implementation``, ``version``, and
    ``duplicate: true`` while the server sees another process announcing
    its (node, application).  Decoding keeps them when they are strings
    (``duplicate`` a boolean) and ignores them otherwise; equality and
    hashing stay on (node, application).
    """

    __slots__ = ("node", "application", "instance", "implementation", "version", "duplicate")

    def __init__(self, node, application="", instance="", implementation="", version="", duplicate=False):
        self.node = node
        self.application = application or ""
        self.instance = instance or ""
        self.implementation = implementation or ""
        self.version = version or ""
        self.duplicate = bool(duplicate)

    def __repr__(self):
        extra = "".join(", %s=%r" % (f, getattr(self, f)) for f in ("instance", "implementation", "version")
                        if getattr(self, f))
        return "Announcement(node=%r, application=%r%s%s)" % (self.node, self.application, extra,
                                                             ", duplicate=True" if self.duplicate else "")

    def __eq__(self, other):
        return isinstance(other, Announcement) and (self.node, self.application) == (other.node, other.application)

    def __hash__(self):
        return hash((self.node, self.application))

    def to_dict(self):
        out = {"node": self.node, "application": self.application}
        for f in ("instance", "implementation", "version"):
            value = getattr(self, f)
            if value:
                out[f] = value
        if self.duplicate:
            out["duplicate"] = True
        return out

    def encode(self):
        return dump_json(self.to_dict(), "announcement")

    @classmethod
    def from_dict(cls, obj):
        if not isinstance(obj, dict):
            raise ProtocolError("announcement: expected an object, got %s" % json_type(obj))
        node = obj.get("node")
        if not node:
            node = obj.get("asterisk")
        if not isinstance(node, str):
            if node is None:
                raise ProtocolError("announcement: no node (or asterisk) field")
            raise ProtocolError("announcement.node: expected a string, got %s" % json_type(node))
        validate_token("announcement.node", node)
        app = obj.get("application")
        if app is None:
            app = ""
        elif not isinstance(app, str):
            raise ProtocolError("announcement.application: expected a string, got %s" % json_type(app))
        validate_token("announcement.application", app, required=False)
        extra = {}
        for f in ("instance", "implementation", "version"):
            value = obj.get(f)
            if isinstance(value, str) and len(value) <= 200:
                extra[f] = value
        return cls(node, app, duplicate=obj.get("duplicate") is True, **extra)

    @classmethod
    def decode(cls, raw):
        return cls.from_dict(load_object(raw, "announcement"))
