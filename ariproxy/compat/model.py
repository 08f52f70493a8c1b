"""ari-py's object model: a Repository per ARI resource, first-class objects per ARI model.

Every operation of ``ariproxy.ari.OPERATIONS`` becomes a method named by its
Swagger nickname, generated here from the table (none is written by hand):

- ``client.<resource>.<nickname>(**params)`` (``client.channels.originate(endpoint=..., app=...)``,
  ``client.recordings.getStored(recordingName=...)``);
- on the model objects, the operations of their resource with the object's
  id parameters filled in (``channel.answer()``, ``bridge.addChannel(channel=...)``,
  ``live_recording.stop()``).

Parameters are keyword-only, named as in the spec.  Results are promoted as
ari-py does: a ``Channel``/``Bridge``/``Playback``/``LiveRecording``/
``StoredRecording``/``Endpoint``/``DeviceState``/``Mailbox`` answer (or a
list of them) becomes objects, ``void`` becomes None, anything else stays
JSON (bytes for a recording file).  Calls block the calling greenlet.
"""
import collections
import logging
import re

from ariproxy.ari import OPERATIONS

__all__ = ["Repository", "BaseObject", "Channel", "Bridge", "Playback", "LiveRecording", "StoredRecording",
           "Endpoint", "DeviceState", "Sound", "Mailbox", "CLASS_MAP", "MODEL_CLASSES", "RESOURCES",
           "promote"]

log = logging.getLogger("ariproxy.compat")

#: resource name -> its operations, in the spec's order
RESOURCES = collections.OrderedDict()
for (_resource, _nickname), _op in OPERATIONS.items():
    RESOURCES.setdefault(_resource, []).append(_op)

_LIST = re.compile(r"^List\[(.*)\]$")


def _operation_doc(op):
    params = ", ".join("%s%s" % (p.name, "" if p.required else "=None") for p in op.params)
    return "ARI %s %s (%s.%s) -> %s.  Keyword parameters: %s." % (op.method, op.path, op.resource, op.nickname,
                                                                   op.response_class, params or "none")


def _repository_method(op):
    def operation(self, **params):
        return self._client._invoke(op, params)
    operation.__name__ = op.nickname
    operation.__qualname__ = "Repository.%s" % op.nickname
    operation.__doc__ = _operation_doc(op)
    return operation


class Repository:
    """One ARI resource (``client.channels``): its operations as methods named by their nicknames."""

    name = ""

    def __init__(self, client):
        self._client = client

    def __repr__(self):
        return "Repository(%s)" % self.name

    def __getattr__(self, item):
        raise AttributeError("'%r' object has no attribute '%s'" % (self, item))


def _repository_class(resource, ops):
    methods = {"name": resource, "__doc__": "The ARI %s resource (%d operations)." % (resource, len(ops))}
    for op in ops:
        methods[op.nickname] = _repository_method(op)
    return type("Repository_%s" % resource, (Repository,), methods)


#: resource -> its Repository class
REPOSITORY_CLASSES = {resource: _repository_class(resource, ops) for resource, ops in RESOURCES.items()}


class BaseObject:
    """A first-class ARI object: ``.id``, ``.json`` (the data it came with, not refreshed),
    ``.on_event(event_type, fn, *args, **kwargs)`` and its resource's operations with the id filled in.

    ``node`` is the Asterisk it lives on when known (from an event's ``asterisk_id``); the proxy
    then sends its requests straight to that server.
    """

    resource = ""
    model = ""
    #: ARI parameter name -> field of the JSON holding its value
    id_params = {}
    #: event registration method of the client (``on_channel_event``); None: no events
    event_method = None

    def __init__(self, client, as_json, node=""):
        self.client = client
        self.json = as_json if isinstance(as_json, dict) else {}
        self.node = node or ""
        self.id = self._id_from(self.json)

    @classmethod
    def _id_from(cls, as_json):
        return as_json.get("id", "")

    def id_params_for(self, op):
        """The id parameters ``op`` takes, filled from this object."""
        names = {p.name for p in op.params}
        return {name: self.json.get(field, "") for name, field in self.id_params.items() if name in names}

    def __repr__(self):
        return "%s(%s)" % (type(self).__name__, self.id)

    def __eq__(self, other):
        return type(other) is type(self) and other.id == self.id

    def __hash__(self):
        return hash((type(self).__name__, self.id))

    def __getattr__(self, item):
        raise AttributeError("'%r' object has no attribute '%s'" % (self, item))

    def on_event(self, event_type, fn, *args, **kwargs):
        """Call ``fn(obj, event, *args, **kwargs)`` for ``event_type`` events naming this object;
        returns an object whose ``close()`` removes the callback."""
        if self.event_method is None:
            raise RuntimeError("Event callback registration called on object with no events")
        return self.client._on_object_event(event_type, fn, self.model, args, kwargs, bound=(self.model, self.id))


def _object_method(op):
    def operation(self, **params):
        params.update(self.id_params_for(op))
        return self.client._invoke(op, params, obj=self)
    operation.__name__ = op.nickname
    operation.__doc__ = _operation_doc(op) + "  The id parameters are this object's."
    return operation


def _model_class(name, resource, id_params, event_method, id_from=None, doc=""):
    methods = {"resource": resource, "model": name, "id_params": id_params, "event_method": event_method,
               "__doc__": doc or "An ARI %s (operations of %s with the id filled in)." % (name, resource)}
    for op in RESOURCES[resource]:
        methods[op.nickname] = _object_method(op)
    if id_from is not None:
        methods["_id_from"] = classmethod(id_from)
    return type(name, (BaseObject,), methods)


def _endpoint_id(cls, as_json):
    return "%s/%s" % (as_json.get("technology", ""), as_json.get("resource", ""))


def _name_id(cls, as_json):
    return as_json.get("name", "")


Channel = _model_class("Channel", "channels", {"channelId": "id"}, "on_channel_event")
Bridge = _model_class("Bridge", "bridges", {"bridgeId": "id"}, "on_bridge_event")
Playback = _model_class("Playback", "playbacks", {"playbackId": "id"}, "on_playback_event")
LiveRecording = _model_class("LiveRecording", "recordings", {"recordingName": "name"}, "on_live_recording_event",
                             _name_id)
StoredRecording = _model_class("StoredRecording", "recordings", {"recordingName": "name"},
                               "on_stored_recording_event", _name_id)
Endpoint = _model_class("Endpoint", "endpoints", {"tech": "technology", "resource": "resource"},
                        "on_endpoint_event", _endpoint_id)
DeviceState = _model_class("DeviceState", "deviceStates", {"deviceName": "name"}, "on_device_state_event",
                           _name_id)
Sound = _model_class("Sound", "sounds", {"soundId": "id"}, "on_sound_event")
Mailbox = _model_class("Mailbox", "mailboxes", {"mailboxName": "name"}, None, _name_id)

#: model name -> class (what event callbacks get)
MODEL_CLASSES = {cls.model: cls for cls in (Channel, Bridge, Playback, LiveRecording, StoredRecording, Endpoint,
                                             DeviceState, Sound, Mailbox)}

#: response classes promoted to objects, as ari-py's CLASS_MAP (a Sound answer stays JSON there too)
CLASS_MAP = {name: MODEL_CLASSES[name] for name in ("Bridge", "Channel", "Endpoint", "Playback", "LiveRecording",
                                                    "StoredRecording", "Mailbox", "DeviceState")}


def promote(client, op, result, node=""):
    """ari-py's promotion of an operation's answer (see the module docstring)."""
    response_class = op.response_class
    m = _LIST.match(response_class)
    factory = CLASS_MAP.get(m.group(1) if m else response_class)
    if factory is None or result is None:
        return result
    if m:
        if not isinstance(result, list):
            return result
        return [factory(client, item, node) for item in result]
    if not isinstance(result, dict):
        return result
    return factory(client, result, node)
