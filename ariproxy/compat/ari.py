"""ari-py's public shape over ariproxy: ``from ariproxy.compat import ari``.

An ari-py program moves onto the proxy by changing its import and its
connect line::

    from ariproxy.compat import ari                      # was: import ari
    client = ari.connect("nats://127.0.0.1:4222", app="hello")
                                 # was: ari.connect('http://localhost:8088/', 'hey', 'peekaboo')

With an ``http://`` URL the same program talks straight to one Asterisk
(through ``ariproxy.ari``), as it did with ari-py.  Everything else is
ari-py's: ``client.channels.originate(endpoint=..., app=...)``, model objects
with ``.id``, ``.json`` and ``.on_event``, ``client.on_channel_event(...)``,
``client.run(apps=...)``, ``client.close()``, ``requests.HTTPError`` on ARI
errors.  ``docs/COMPAT.md`` lists what differs.
"""
import logging
import os

import gevent
from gevent.event import Event as GEvent
from gevent.lock import RLock
from gevent.queue import Queue

from ariproxy import errors
from ariproxy.jsonutil import mask_url

from . import model as _model
from .backends import HttpBackend, ParameterError, ProxyBackend, is_nats_url
from .events import Dispatcher, EventUnsubscriber, ObjectMap
from .model import (Bridge, Channel, DeviceState, Endpoint, LiveRecording, Mailbox, Playback, Repository, Sound,
                    StoredRecording)

__all__ = ["connect", "Client", "Repository", "Channel", "Bridge", "Playback", "LiveRecording", "StoredRecording",
           "Endpoint", "DeviceState", "Sound", "Mailbox", "ObjectMap", "EventUnsubscriber", "ParameterError",
           "DISTRIBUTE_ENV", "model"]

log = logging.getLogger("ariproxy.compat")

#: ari-py's ``ari.model`` (Repository, the model classes, ``promote``)
model = _model

#: set to 0 to give every running copy every StasisStart (ari-py's behaviour) without changing code
DISTRIBUTE_ENV = "ARIPROXY_COMPAT_DISTRIBUTE"

_STOP = object()


def connect(base_url, username=None, password=None, app=None, distribute=None, **options):
    """An ari-py ``Client`` for ``base_url``.

    - ``nats://host:4222`` (or ``tls://``, or several comma-separated): over
      the ari-proxy servers on that NATS.  ``app`` (default
      ``$ARI_APPLICATION``) scopes requests to that application's servers;
      ``username``/``password`` are not used (the servers hold Asterisk's
      credentials; NATS credentials go in the URL, ``nats://user:pass@host``).
      ``distribute`` (default True, or ``$ARIPROXY_COMPAT_DISTRIBUTE``):
      each StasisStart reaches exactly one running copy of the program.
    - ``http://host:8088/`` (ari-py's form; ``.../ari`` works too): straight
      to that Asterisk with ``username``/``password``.

    ``options`` go to ``ariproxy.ari.ARI`` (``rest_transport``, ``timeout``,
    ...) or ``ariproxy.Client`` (``timeout``, ``prefix``, ``retries``).
    Connecting to NATS blocks until it is up; raises
    ``requests.exceptions.ConnectionError`` when it cannot be reached.
    """
    if not isinstance(base_url, str) or not base_url.strip():
        raise errors.ValidationError("ari.connect needs a URL (http://... or nats://...)", "base_url")
    if is_nats_url(base_url):
        if distribute is None:
            distribute = os.environ.get(DISTRIBUTE_ENV, "1").strip().lower() not in ("0", "false", "no", "off")
        if username is not None:
            log.debug("ari.connect over the proxy: the ARI username is not used (the servers hold it)")
        app = app or os.environ.get("ARI_APPLICATION") or None
        try:
            backend = ProxyBackend(base_url, app=app, distribute=distribute, **options)
        except errors.ValidationError:
            raise
        except Exception as exc:
            import requests
            raise requests.exceptions.ConnectionError("cannot connect to %s: %s" % (mask_url(base_url), exc)) \
                from exc
    else:
        if distribute:
            raise errors.ValidationError("distribute= needs a nats:// URL (one Asterisk has no queue group)",
                                         "distribute")
        backend = HttpBackend(base_url, username, password, **options)
    return Client(backend, app=app)


def _object_event_method(model, what):
    def register(self, event_type, fn, *args, **kwargs):
        return self._on_object_event(event_type, fn, model, args, kwargs)
    register.__doc__ = ("Call ``fn(obj, event, *args, **kwargs)`` for %s, ``obj`` the %s the event names "
                        "(a dict of them when the event has several); returns an object whose ``close()`` "
                        "removes the callback." % (what, model))
    return register


def _log_exception(exc):
    log.error("Event listener threw exception", exc_info=(type(exc), exc, exc.__traceback__))


class Client:
    """ari-py's Client: repositories as attributes, event callbacks, ``run``/``close``.

    Made by ``connect``.  ``client.<resource>`` is the Repository of that
    ARI resource (``channels``, ``bridges``, ``recordings``, ``deviceStates``...).
    ``exception_handler(exc)`` is called for an exception raised by an event
    callback (default: log it); the loop goes on.
    """

    def __init__(self, backend, app=None):
        self._backend = backend
        self.app = app
        self.repositories = {name: cls(self) for name, cls in _model.REPOSITORY_CLASSES.items()}
        self._dispatcher = Dispatcher(lambda exc: self.exception_handler(exc))
        self._dispatcher.distributed = backend.kind == "proxy" and backend.distribute
        self.exception_handler = _log_exception
        self._queue = Queue()
        self._lock = RLock()
        self._apps = []
        self._running = 0
        self._closed = False
        self.ready = GEvent()

    def __repr__(self):
        return "<ari.Client %r%s>" % (self._backend, " closed" if self._closed else "")

    def __getattr__(self, item):
        repos = self.__dict__.get("repositories")
        if repos is not None and item in repos:
            return repos[item]
        raise AttributeError("'%r' object has no attribute '%s'" % (self, item))

    def get_repo(self, name):
        """The Repository named ``name`` (``channels``...), or None."""
        return self.repositories.get(name)

    @property
    def backend(self):
        """``"http"`` (straight to Asterisk) or ``"proxy"`` (over NATS)."""
        return self._backend.kind

    @property
    def closed(self):
        return self._closed

    # -- operations ---------------------------------------------------------------------------
    def _invoke(self, op, params, obj=None):
        if self._closed:
            raise errors.AriProxyError("the ari client is closed")
        node = obj.node if obj is not None else ""
        result = self._backend.call(op, params, node)
        return _model.promote(self, op, result, node)

    def _make(self, model, as_json, node=""):
        return _model.MODEL_CLASSES[model](self, as_json, node)

    # -- events --------------------------------------------------------------------------------
    def on_event(self, event_type, event_cb, *args, **kwargs):
        """Call ``event_cb(event_dict, *args, **kwargs)`` for every ``event_type`` event.

        Registering the same function again for a type replaces it (as ari-py).
        Returns an object whose ``close()`` removes the callback.
        """
        return self._dispatcher.add(event_type, event_cb, args, kwargs)

    def on_object_event(self, event_type, event_cb, factory_fn, model_id, *args, **kwargs):
        """ari-py's general form: ``event_cb(obj, event, ...)`` with the event's ``model_id`` objects
        (one object, or ``{field: obj}`` when the event model has several such fields).

        ``factory_fn(client, json)`` makes each object (``ari.Channel`` and the other classes fit).
        """
        if not callable(factory_fn):
            raise TypeError("factory_fn %r is not callable" % (factory_fn,))
        return self._on_object_event(event_type, event_cb, model_id, args, kwargs,
                                     factory=lambda model, as_json, node: factory_fn(self, as_json))

    def _on_object_event(self, event_type, fn, model, args, kwargs, bound=None, factory=None):
        return self._dispatcher.add(event_type, fn, args, kwargs, model=model, factory=factory or self._make,
                                    bound=bound)

    on_channel_event = _object_event_method(
        "Channel", "Channel events (``StasisStart``: a dict that also acts as its channel, see ``ObjectMap``)")
    on_bridge_event = _object_event_method("Bridge", "Bridge events")
    on_playback_event = _object_event_method("Playback", "Playback events")
    on_live_recording_event = _object_event_method("LiveRecording", "RecordingStarted/Finished/Failed")
    #: the recording events (``RecordingStarted``...) carry LiveRecordings
    on_recording_event = on_live_recording_event
    on_stored_recording_event = _object_event_method(
        "StoredRecording", "StoredRecording events (as in ari-py, no event has one: ValueError for known types)")
    on_endpoint_event = _object_event_method("Endpoint", "Endpoint events")
    on_device_state_event = _object_event_method("DeviceState", "DeviceStateChanged")
    on_sound_event = _object_event_method(
        "Sound", "Sound events (as in ari-py, no event has one: ValueError for known types)")

    # -- the loop ------------------------------------------------------------------------------
    def _feed(self, source, event, node):
        if not self._closed:
            self._queue.put((source, event, node))

    def run(self, apps=None):
        """Receive the events of ``apps`` (a name, a comma list or a list; default: connect's app or
        ``$ARI_APPLICATION``) and call the callbacks, one at a time, until ``close()``.

        Blocks the calling greenlet.  Unlike ari-py, a dropped connection is
        reconnected by itself: ``run`` returns only once the client is closed.
        """
        if self._closed:
            raise errors.AriProxyError("the ari client is closed")
        names = _app_names(apps) or _app_names(self.app or os.environ.get("ARI_APPLICATION"))
        if not names:
            raise ParameterError("run() needs apps= (or connect(app=...) / ARI_APPLICATION)", "apps")
        fresh = [n for n in names if n not in self._apps]
        if fresh:
            self._apps.extend(fresh)
            self._backend.start_events(fresh, self._feed, self.ready)
        self._running += 1
        try:
            while True:
                item = self._queue.get()
                if item is _STOP:
                    self._queue.put(_STOP)  # other run() loops stop too
                    return
                with self._lock:  # one callback at a time, whichever loop took the event
                    self._dispatcher.dispatch(*item)
        finally:
            self._running -= 1

    @property
    def running(self):
        """True while a ``run()`` loop is dispatching and the event sources are up."""
        return self._running > 0 and self.ready.is_set() and not self._closed

    def close(self):
        """Stop receiving events (``run()`` returns) and close the connection. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        try:
            self._backend.close()
        except Exception as exc:
            log.debug("closing %r: %s", self._backend, exc)
        gevent.sleep(0)  # let a run() loop in another greenlet see the stop now


def _app_names(apps):
    if not apps:
        return []
    if isinstance(apps, str):
        apps = apps.split(",")
    return [a.strip() for a in apps if a and a.strip()]
