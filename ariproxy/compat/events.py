"""Event dispatch as ari-py does it: listeners by event type, called one at a time, model objects first.

``MODEL_FIELDS`` says which top-level fields of which event type hold which
ARI model (``StasisStart``: ``channel`` and ``replace_channel`` are
Channels).  It is derived from ``ariproxy.protocol.events.EVENT_ENTITY_FIELDS``
(checked against the spec's ``events.json`` by the tests), which is what
ari-py reads from the Swagger models at run time.

``Dispatcher`` keeps the listeners and runs them from one greenlet at a time
(``client.run``).  Events come from one or two *sources*:

- ``"all"``: every event of the application (the ARI websocket, or the
  proxy's event subject);
- with the proxy and StasisStart distribution, ``"start"``: StasisStart of
  the calls this copy won in the queue group.  Then client-wide StasisStart
  listeners hear only ``"start"``, object listeners (``channel.on_event``)
  only ``"all"``, and events of a won call that were dispatched before its
  StasisStart reached this copy are replayed to the object listeners its
  StasisStart callback registered (so ``channel.on_event(...)`` inside the
  handler misses nothing, as with ari-py's one ordered websocket).

No I/O.
"""
import collections
import logging

from ariproxy.protocol.events import EVENT_ENTITY_FIELDS

__all__ = ["MODEL_FIELDS", "MODEL_OF_KIND", "model_fields", "Dispatcher", "EventUnsubscriber", "ObjectMap"]

log = logging.getLogger("ariproxy.compat")

#: key kind (ariproxy.protocol) -> ARI model name
MODEL_OF_KIND = {
    "channel": "Channel", "bridge": "Bridge", "playback": "Playback", "liverecording": "LiveRecording",
    "storedrecording": "StoredRecording", "endpoint": "Endpoint", "devicestate": "DeviceState",
}

#: field names tried for an event type this table does not know (a newer Asterisk)
_FALLBACK = {"Channel": ("channel",), "Bridge": ("bridge",), "Playback": ("playback",),
             "LiveRecording": ("recording",), "Endpoint": ("endpoint",), "DeviceState": ("device_state",)}


def _build():
    table = {}
    for event_type, fields in EVENT_ENTITY_FIELDS.items():
        by_model = {}
        for path, kind, reader in fields:
            if len(path) != 1 or reader == "string":
                continue  # nested objects and id strings are not fields of the model's type
            by_model.setdefault(MODEL_OF_KIND[kind], []).append(path[0])
        table[event_type] = {m: tuple(f) for m, f in by_model.items()}
    return table


#: event type -> {model name: (top-level field, ...)} in the spec's order
MODEL_FIELDS = _build()

#: entities ended by an event: listeners bound to them are dropped once it is dispatched
_ENDS = {"ChannelDestroyed": ("Channel", "channel"), "PlaybackFinished": ("Playback", "playback")}

RECENT = 256


def model_fields(event_type, model):
    """The fields of ``event_type`` holding a ``model``; ValueError as ari-py when there are none."""
    known = MODEL_FIELDS.get(event_type)
    if known is None:
        log.debug("event type %s is not in the spec this ariproxy knows: trying %s fields", event_type, model)
        return _FALLBACK.get(model, ())
    fields = known.get(model)
    if not fields:
        raise ValueError("Event model '%s' has no fields of type %s" % (event_type, model))
    return fields


class ObjectMap(dict):
    """What ari-py passes when an event has several fields of the model (``{field: object}``).

    ari-py hands ``on_channel_event('StasisStart', cb)`` a dict
    ``{"channel": Channel}`` (StasisStart also has ``replace_channel``), while
    its older examples treat the argument as the Channel itself.  This dict
    does both: ``objs.get("channel")`` / ``objs["channel"]`` as a dict, and
    ``objs.answer()``, ``objs.id``, ``objs.on_event(...)`` as the first object
    present (in the spec's field order).
    """

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        for value in self.values():
            return getattr(value, name)
        raise AttributeError("no object in this event has %r" % name)


class EventUnsubscriber:
    """Returned by every ``on_*event``: ``close()`` removes the callback (idempotent)."""

    __slots__ = ("_dispatcher", "_record")

    def __init__(self, dispatcher, record):
        self._dispatcher = dispatcher
        self._record = record

    def close(self):
        """Stop calling the callback."""
        self._dispatcher.remove(self._record)

    def __repr__(self):
        return "<EventUnsubscriber %s>" % self._record.event_type


class _Record:
    __slots__ = ("event_type", "callback", "args", "kwargs", "model", "factory", "bound", "gen")

    def __init__(self, event_type, callback, args, kwargs, model, factory, bound, gen):
        self.event_type = event_type
        self.callback = callback
        self.args = args
        self.kwargs = kwargs
        self.model = model        # None: the callback gets the event dict only
        self.factory = factory    # factory(model, json, node) -> model object
        self.bound = bound        # (model, id): only events naming this object
        self.gen = gen


class Dispatcher:
    """Listeners by event type and the calling of them (see the module docstring)."""

    def __init__(self, exception_handler):
        self._listeners = collections.defaultdict(list)
        self._gen = 0
        self._recent = collections.deque(maxlen=RECENT)
        self._started = collections.OrderedDict()
        self.exception_handler = exception_handler
        self.distributed = False

    # -- registration ---------------------------------------------------------------
    def add(self, event_type, callback, args=(), kwargs=None, model=None, factory=None, bound=None):
        """Register a listener; returns its EventUnsubscriber."""
        if not isinstance(event_type, str) or not event_type:
            raise ValueError("event_type must be an event name, got %r" % (event_type,))
        if not callable(callback):
            raise TypeError("callback %r is not callable" % (callback,))
        if model is not None:
            model_fields(event_type, model)  # raises as ari-py for an event without such fields
        listeners = self._listeners[event_type]
        if model is None and bound is None:
            # ari-py: registering the same function again for a type replaces it
            listeners[:] = [r for r in listeners if not (r.model is None and r.callback == callback)]
        self._gen += 1
        record = _Record(event_type, callback, tuple(args), dict(kwargs or {}), model, factory, bound, self._gen)
        listeners.append(record)
        return EventUnsubscriber(self, record)

    def remove(self, record):
        listeners = self._listeners.get(record.event_type)
        if listeners and record in listeners:
            listeners.remove(record)
            if not listeners:
                del self._listeners[record.event_type]

    def count(self):
        """Number of registered listeners."""
        return sum(len(v) for v in self._listeners.values())

    # -- dispatch -------------------------------------------------------------------
    def dispatch(self, source, event, node=""):
        """Call the listeners of ``event`` (a dict) that this source feeds; never raises."""
        event_type = event.get("type")
        if not isinstance(event_type, str):
            log.error("Invalid event: %r", event)
            return
        listeners = list(self._listeners.get(event_type, ()))
        if event_type == "StasisStart" and self.distributed:
            if source == "start":
                self._dispatch_start(listeners, event, node)
                return
            limit = self._started.get(_channel_id(event))
            listeners = [r for r in listeners if r.bound is not None and (limit is None or r.gen <= limit)]
        for record in listeners:
            self._call(record, event, node)
        if self.distributed:
            self._recent.append((event_type, event, node))
        self._drop_ended(event_type, event)

    def _dispatch_start(self, listeners, event, node):
        channel_id = _channel_id(event)
        before = self._gen
        for record in listeners:
            if record.bound is None:
                self._call(record, event, node)
        self._started[channel_id] = before
        while len(self._started) > RECENT:
            self._started.popitem(last=False)
        fresh = [r for lst in self._listeners.values() for r in lst
                 if r.gen > before and r.bound is not None and r.bound == ("Channel", channel_id)]
        if not fresh or not channel_id:
            return
        # Replay what this call did before its StasisStart got here (from the ordered "all" source).
        seen_start = False
        for event_type, old, old_node in list(self._recent):
            if not seen_start:
                seen_start = event_type == "StasisStart" and _channel_id(old) == channel_id
                continue
            for record in fresh:
                if record.event_type == event_type:
                    self._call(record, old, old_node)

    def _call(self, record, event, node):
        try:
            if record.model is None:
                record.callback(event, *record.args, **record.kwargs)
                return
            objs = self._objects(record, event, node)
            if record.bound is not None and not _names(objs, record.bound[1]):
                return
            record.callback(objs, event, *record.args, **record.kwargs)
        except Exception as exc:  # ari-py: the exception handler logs it, the loop goes on
            try:
                self.exception_handler(exc)
            except Exception:
                log.exception("the exception handler itself failed")

    @staticmethod
    def _objects(record, event, node):
        fields = model_fields(event["type"], record.model)
        found = ObjectMap()
        for name in fields:
            value = event.get(name)
            if value:
                found[name] = record.factory(record.model, value, node)
        if len(fields) == 1:
            return next(iter(found.values()), None)
        return found

    def _drop_ended(self, event_type, event):
        ended = _ENDS.get(event_type)
        if ended is None:
            return
        model, field = ended
        value = event.get(field)
        entity = value.get("id") if isinstance(value, dict) else None
        if not entity:
            return
        for etype, listeners in list(self._listeners.items()):
            keep = [r for r in listeners if r.bound != (model, entity)]
            if len(keep) != len(listeners):
                if keep:
                    self._listeners[etype] = keep
                else:
                    del self._listeners[etype]


def _channel_id(event):
    channel = event.get("channel")
    return channel.get("id") if isinstance(channel, dict) else None


def _names(objs, entity_id):
    if objs is None:
        return False
    if isinstance(objs, dict):
        return any(getattr(o, "id", None) == entity_id for o in objs.values())
    return getattr(objs, "id", None) == entity_id
