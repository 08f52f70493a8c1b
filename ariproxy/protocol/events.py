"""ARI events as the proxy carries them (PROTOCOL.md 7): envelope, body, and the entities referenced.

``Event.decode(raw)`` parses once and keeps the raw bytes, so a server can
republish what Asterisk sent untouched.  ``event.keys()`` lists the Key of
every entity the event references, driven by ``EVENT_ENTITY_FIELDS`` (our
table of which field of which event type is which entity kind, covering
every event type of the Asterisk 22 spec; a test walks the spec's models so
a new type or entity field cannot slip by).  ``event.destroys()`` lists the
entities the event ends (for dropping dialog bindings).

No I/O.
"""
import difflib

from ariproxy.errors import ProtocolError, ValidationError

from .event_types import EVENT_ENTITIES, EVENT_TYPES
from .gaps import GAP_EVENT
from .messages import Key
from .wire import dump_json, json_type, load_object

__all__ = ["Event", "EVENT_ENTITY_FIELDS", "ENTITY_MODELS", "DESTROYING_EVENTS", "event_entity_keys",
           "EVENT_TYPES", "EVENT_ENTITIES", "check_event_type", "closest_event_types"]

_EVENT_TYPE_SET = frozenset(EVENT_TYPES)


def closest_event_types(name, n=3):
    """The spec's event types closest to ``name`` (best first; case-insensitive)."""
    by_lower = {t.lower(): t for t in EVENT_TYPES}
    found = difflib.get_close_matches(str(name).lower(), list(by_lower), n=n, cutoff=0.6)
    return [by_lower[f] for f in found]


def check_event_type(name):
    """Return ``name`` if it is an event type of the ARI spec; else raise ValidationError naming the closest."""
    if isinstance(name, str) and (name in _EVENT_TYPE_SET or name == GAP_EVENT):
        return name     # (and ariproxy's own gap marker)
    if not isinstance(name, str) or not name:
        raise ValidationError("event type must be a non-empty string, got %r" % (name,), "event_type")
    close = closest_event_types(name)
    hint = ("did you mean %s?" % " or ".join(close)) if close else \
        "known types: %s" % ", ".join(EVENT_TYPES)
    raise ValidationError("unknown event type %r: %s (a type newer than ariproxy's ARI spec: pass "
                          "strict=False)" % (name, hint), "event_type")

#: ARI model -> (key kind, how its id is read): ``id``, ``name`` or ``endpoint`` (technology/resource)
ENTITY_MODELS = {
    "Channel": ("channel", "id"),
    "Bridge": ("bridge", "id"),
    "Playback": ("playback", "id"),
    "LiveRecording": ("liverecording", "name"),
    "StoredRecording": ("storedrecording", "name"),
    "Endpoint": ("endpoint", "endpoint"),
    "DeviceState": ("devicestate", "name"),
}

# For each event type: (path, key kind, id reader).  A path is a tuple of
# field names (nested for ChannelTransfer's refer_to/referred_by); the reader
# is "id"/"name"/"endpoint" for model objects and "string" for a field that
# is itself an entity id (BridgeAttendedTransfer.destination_bridge).
_C = ("channel", "id")
_B = ("bridge", "id")
_E = ("endpoint", "endpoint")


def _f(*path_and_kind):
    *path, (kind, reader) = path_and_kind
    return (tuple(path), kind, reader)


#: event type -> entity fields; every event type of the spec is listed (empty when none)
EVENT_ENTITY_FIELDS = {
    "ApplicationMoveFailed": (_f("channel", _C),),
    "ApplicationRegistered": (),
    "ApplicationReplaced": (),
    "ApplicationUnregistered": (),
    "BridgeAttendedTransfer": (
        _f("transferer_first_leg", _C), _f("transferer_second_leg", _C), _f("replace_channel", _C),
        _f("transferee", _C), _f("transfer_target", _C), _f("transferer_first_leg_bridge", _B),
        _f("transferer_second_leg_bridge", _B), _f("destination_bridge", ("bridge", "string")),
        _f("destination_link_first_leg", _C), _f("destination_link_second_leg", _C),
        _f("destination_threeway_channel", _C), _f("destination_threeway_bridge", _B),
    ),
    "BridgeBlindTransfer": (_f("channel", _C), _f("replace_channel", _C), _f("transferee", _C), _f("bridge", _B)),
    "BridgeCreated": (_f("bridge", _B),),
    "BridgeDestroyed": (_f("bridge", _B),),
    "BridgeMerged": (_f("bridge", _B), _f("bridge_from", _B)),
    "BridgeVideoSourceChanged": (_f("bridge", _B), _f("old_video_source_id", ("channel", "string"))),
    "CallBroadcast": (_f("channel", _C),),
    "CallClaimed": (_f("channel", _C),),
    "ChannelCallerId": (_f("channel", _C),),
    "ChannelConnectedLine": (_f("channel", _C),),
    "ChannelCreated": (_f("channel", _C),),
    "ChannelDestroyed": (_f("channel", _C),),
    "ChannelDialplan": (_f("channel", _C),),
    "ChannelDtmfReceived": (_f("channel", _C),),
    "ChannelEnteredBridge": (_f("bridge", _B), _f("channel", _C)),
    "ChannelHangupRequest": (_f("channel", _C),),
    "ChannelHold": (_f("channel", _C),),
    "ChannelLeftBridge": (_f("bridge", _B), _f("channel", _C)),
    "ChannelStateChange": (_f("channel", _C),),
    "ChannelTalkingFinished": (_f("channel", _C),),
    "ChannelTalkingStarted": (_f("channel", _C),),
    "ChannelToneDetected": (_f("channel", _C),),
    "ChannelTransfer": (
        _f("refer_to", "destination_channel", _C), _f("refer_to", "connected_channel", _C),
        _f("refer_to", "bridge", _B), _f("referred_by", "source_channel", _C),
        _f("referred_by", "connected_channel", _C), _f("referred_by", "bridge", _B),
    ),
    "ChannelUnhold": (_f("channel", _C),),
    "ChannelUserevent": (_f("channel", _C), _f("bridge", _B), _f("endpoint", _E)),
    "ChannelVarset": (_f("channel", _C),),
    "ContactStatusChange": (_f("endpoint", _E),),
    "DeviceStateChanged": (_f("device_state", ("devicestate", "name")),),
    "Dial": (_f("caller", _C), _f("peer", _C), _f("forwarded", _C)),
    "EndpointStateChange": (_f("endpoint", _E),),
    "PeerStatusChange": (_f("endpoint", _E),),
    "PlaybackContinuing": (_f("playback", ("playback", "id")),),
    "PlaybackFinished": (_f("playback", ("playback", "id")),),
    "PlaybackStarted": (_f("playback", ("playback", "id")),),
    "RESTResponse": (),
    "RecordingFailed": (_f("recording", ("liverecording", "name")),),
    "RecordingFinished": (_f("recording", ("liverecording", "name")),),
    "RecordingStarted": (_f("recording", ("liverecording", "name")),),
    "StasisEnd": (_f("channel", _C),),
    "StasisStart": (_f("channel", _C), _f("replace_channel", _C)),
    "TextMessageReceived": (_f("endpoint", _E),),
}

#: events that end an entity: type -> paths of the ended entity (dialog bindings can be dropped)
DESTROYING_EVENTS = {
    "ChannelDestroyed": (("channel",),),
    "BridgeDestroyed": (("bridge",),),
    "PlaybackFinished": (("playback",),),
    "RecordingFinished": (("recording",),),
    "RecordingFailed": (("recording",),),
}

# Unknown event types (a newer Asterisk) still get their common fields looked at.
_FALLBACK_FIELDS = (_f("channel", _C), _f("bridge", _B), _f("playback", ("playback", "id")),
                    _f("recording", ("liverecording", "name")), _f("endpoint", _E),
                    _f("device_state", ("devicestate", "name")))


def _read_id(value, reader):
    if reader == "string":
        return value if isinstance(value, str) else ""
    if not isinstance(value, dict):
        return ""
    if reader == "endpoint":
        tech, res = value.get("technology"), value.get("resource")
        if isinstance(tech, str) and isinstance(res, str) and tech and res:
            return tech + "/" + res
        return ""
    v = value.get(reader)
    return v if isinstance(v, str) else ""


def _walk(body, path):
    value = body
    for name in path:
        if not isinstance(value, dict):
            return None
        value = value.get(name)
    return value


def event_entity_keys(event_type, body, node="", app=""):
    """Keys of the entities ``body`` (an event dict of ``event_type``) references, deduplicated,
    in table order.  Empty ids (Go's zero-valued sub-objects) are skipped."""
    fields = EVENT_ENTITY_FIELDS.get(event_type, _FALLBACK_FIELDS)
    out = []
    seen = set()
    for path, kind, reader in fields:
        value = body.get(path[0]) if len(path) == 1 else _walk(body, path)
        if value is None:
            continue
        entity = _read_id(value, reader)
        if entity and (kind, entity) not in seen:
            seen.add((kind, entity))
            out.append(Key(kind, entity, node, "", app))
    return out


def _opt_str(body, name):
    v = body.get(name)
    if v is None:
        return ""
    if not isinstance(v, str):
        raise ProtocolError("event.%s: expected a string, got %s" % (name, json_type(v)))
    return v


#: scalar fields a repr shows when an event has them (the ones that say what happened)
_REPR_FIELDS = ("dialstatus", "cause", "cause_txt", "digit", "variable", "value", "state", "media_uri",
                "target_uri", "args", "eventname", "reason", "destination", "dialstring")
_ENVELOPE = ("type", "application", "asterisk_id", "dialog", "timestamp")


class Event:
    """One ARI event: ``type``, envelope (``application``, ``asterisk_id``, ``dialog``,
    ``timestamp``), ``body`` (the whole event dict) and ``raw`` (the bytes it came as).

    A read-only mapping of the event's fields: ``event["channel"]``, ``"cause" in event``,
    ``event.get("cause")``, ``list(event)`` / ``event.fields()`` (field names), ``items()``,
    ``values()``, ``len(event)``.  One exception to the mapping protocol, kept for the
    server's and the client's routing: ``event.keys()`` returns the Keys of the entities
    the event references (also as ``event.entity_keys()``), not the field names.
    """

    __slots__ = ("type", "application", "asterisk_id", "dialog", "timestamp", "body", "raw", "_keys")

    def __init__(self, body, raw=None):
        if not isinstance(body, dict):
            raise ProtocolError("event: expected an object, got %s" % json_type(body))
        etype = body.get("type")
        if not isinstance(etype, str) or not etype:
            raise ProtocolError("event: no type" if etype is None else "event.type: expected a non-empty string")
        self.type = etype
        self.application = _opt_str(body, "application")
        self.asterisk_id = _opt_str(body, "asterisk_id")
        self.dialog = _opt_str(body, "dialog")
        self.timestamp = _opt_str(body, "timestamp")
        self.body = body
        self.raw = raw
        self._keys = None

    @classmethod
    def decode(cls, raw):
        """Event from JSON bytes/str (one parse); ProtocolError for anything that is not an event."""
        body = load_object(raw, "event")
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogatepass")
        elif not isinstance(raw, bytes):
            raw = bytes(raw)
        return cls(body, raw)

    def __repr__(self):
        parts = [self.type]
        for key in self.keys():
            parts.append("%s=%s" % (key.kind, key.id))
        channel = self.body.get("channel")
        if isinstance(channel, dict) and isinstance(channel.get("state"), str):
            parts.append("channel_state=%s" % channel["state"])
        for name in _REPR_FIELDS:
            value = self.body.get(name)
            if value is not None and value != "" and not isinstance(value, dict):
                text = repr(value) if not isinstance(value, (int, float)) else str(value)
                parts.append("%s=%s" % (name, text if len(text) <= 40 else text[:37] + "..."))
        if self.asterisk_id:
            parts.append("node=%s" % self.asterisk_id)
        if self.application:
            parts.append("app=%s" % self.application)
        if self.dialog:
            parts.append("dialog=%s" % self.dialog)
        return "<Event %s>" % " ".join(parts)

    # -- read-only mapping of the fields ------------------------------------------
    def __getitem__(self, name):
        return self.body[name]

    def get(self, name, default=None):
        """The field ``name``, or ``default``."""
        return self.body.get(name, default)

    def __contains__(self, name):
        return name in self.body

    def __iter__(self):
        return iter(self.body)

    def __len__(self):
        return len(self.body)

    def fields(self):
        """The event's field names (what iterating the event gives)."""
        return list(self.body)

    def items(self):
        """(field, value) pairs."""
        return self.body.items()

    def values(self):
        """The field values."""
        return self.body.values()

    def to_dict(self):
        """A copy of the event's fields as a plain dict."""
        return dict(self.body)

    def entity_keys(self):
        """Keys of every entity the event references (same as ``keys()``)."""
        return self.keys()

    def keys(self):
        """Keys (node = asterisk_id, app = application) of every entity the event references."""
        if self._keys is None:
            self._keys = event_entity_keys(self.type, self.body, self.asterisk_id, self.application)
        return list(self._keys)

    def destroys(self):
        """Keys of the entities this event ends (ChannelDestroyed, PlaybackFinished, ...)."""
        paths = DESTROYING_EVENTS.get(self.type)
        if not paths:
            return []
        fields = EVENT_ENTITY_FIELDS[self.type]
        out = []
        for path, kind, reader in fields:
            if path in paths:
                entity = _read_id(_walk(self.body, path), reader)
                if entity:
                    out.append(Key(kind, entity, self.asterisk_id, "", self.application))
        return out

    def encode(self, application=None, asterisk_id=None, dialog=None):
        """The event's JSON with envelope fields set; the raw bytes untouched when nothing changes.

        Missing fields are spliced in front of the raw bytes (no re-encoding);
        a field that must change forces one re-encode, envelope first as Go orders it.
        """
        wanted = (("application", application), ("dialog", dialog), ("asterisk_id", asterisk_id))
        prefix = []
        rewrite = False
        for name, value in wanted:
            if value is None or value == "":
                continue
            have = self.body.get(name)
            if have == value:
                continue
            if have is None and self.raw is not None:
                prefix.append((name, value))
            else:
                rewrite = True
        if not prefix and not rewrite:
            return self.raw if self.raw is not None else dump_json(self.body, "event")
        if not rewrite:
            raw = self.raw.lstrip()
            if raw[:1] == b"{":
                head = dump_json(dict(prefix), "event")[:-1]
                rest = raw[1:].lstrip()
                return head + (b"}" if rest[:1] == b"}" else b"," + rest)
        out = {}
        for name, value in wanted:
            v = value if value else self.body.get(name)
            if v is not None and v != "":
                out[name] = v
        for name, value in self.body.items():
            if name not in out:
                out[name] = value
        return dump_json(out, "event")
