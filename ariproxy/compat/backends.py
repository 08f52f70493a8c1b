"""Where the compat client's calls and events go: straight to Asterisk (http://) or over the proxy (nats://).

Both backends offer ``call(op, params, node) -> ARI's JSON`` and
``start_events(apps, feed, ready)`` / ``stop_events()`` / ``close()``.
``feed(source, event_dict, node)`` never blocks (it queues for
``client.run``).  Errors come out as ari-py's: ``requests.HTTPError`` with a
``response.status_code``, ``requests.exceptions.Timeout`` /
``ConnectionError`` when nothing answers, ``ParameterError`` (a TypeError,
as swagger-py raised) for a bad parameter.
"""
import logging
from http.client import responses as _REASONS
from urllib.parse import urljoin, urlsplit

import requests

from ariproxy import errors
from ariproxy.jsonutil import dumps, mask_url

__all__ = ["ParameterError", "HttpBackend", "ProxyBackend", "http_error", "is_nats_url", "ari_base_url",
           "entity_key"]

log = logging.getLogger("ariproxy.compat")

_NATS_SCHEMES = ("nats", "tls", "ws", "wss")


class ParameterError(errors.ValidationError, TypeError):
    """A parameter the operation does not take, a missing required one, or a bad value (nothing was sent)."""


def is_nats_url(url):
    """True for ``nats://...`` (and ``tls://``, or a comma-separated list of NATS URLs)."""
    first = str(url).split(",", 1)[0].strip()
    return urlsplit(first).scheme.lower() in _NATS_SCHEMES


def ari_base_url(url):
    """The ARI base for an ari-py style URL: ``http://host:8088/`` -> ``http://host:8088/ari``.

    ari-py joins ``ari/api-docs/...`` to the URL it is given; a URL that
    already ends in ``/ari`` is used as it is.
    """
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise errors.ValidationError("ari.connect needs an http://, https:// or nats:// URL, got %s"
                                     % mask_url(url), "url")
    if parts.path.rstrip("/").endswith("/ari"):
        return url.rstrip("/")
    return urljoin(url, "ari")


def http_error(exc, op=None):
    """The ``requests`` exception ari-py code expects for an ariproxy exception (the cause is kept)."""
    where = op.path if op is not None else ""
    if isinstance(exc, errors.ValidationError):
        return ParameterError(str(exc), getattr(exc, "parameter", None))
    if isinstance(exc, errors.Timeout):
        return requests.exceptions.Timeout("%s: %s" % (where, exc))
    if isinstance(exc, errors.ARIError):
        status = exc.status or 500
        reason = exc.reason or _REASONS.get(status, "Error")
        response = requests.Response()
        response.status_code = status
        response.reason = reason
        response.url = where
        response.headers["Content-Type"] = "application/json"
        response._content = dumps({"message": str(exc.message)})
        kind = "Client" if status < 500 else "Server"
        return requests.HTTPError("%d %s Error: %s for %s (%s)" % (status, kind, reason, where, exc.message),
                                  response=response)
    if isinstance(exc, (errors.AriProxyError, OSError)):
        return requests.exceptions.ConnectionError("%s: %s" % (where, exc))
    return exc


def _as_ari_py(op, fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` with ariproxy's exceptions raised as ari-py code expects them."""
    try:
        return fn(*args, **kwargs)
    except Exception as exc:
        mapped = http_error(exc, op)
        if mapped is exc:
            raise
        raise mapped from exc


class HttpBackend:
    """Straight to one Asterisk through ``ariproxy.ari.ARI`` (REST over HTTP or the events websocket)."""

    kind = "http"

    def __init__(self, url, username=None, password=None, **options):
        from ariproxy.ari import ARI
        kwargs = {}
        if username is not None:
            kwargs["username"] = username
            kwargs["password"] = password or ""
        kwargs.update(options)
        self.url = ari_base_url(url)
        self.ari = ARI(self.url, **kwargs)
        self._streams = []

    def __repr__(self):
        return "<HttpBackend %s>" % mask_url(self.url)

    def call(self, op, params, node=""):
        return _as_ari_py(op, self.ari.call, op.resource, op.nickname, **params)

    def start_events(self, apps, feed, ready):
        def on_event(event):
            feed("all", event.body, event.asterisk_id)
        self._streams.append(self.ari.events(on_event, on_connect=lambda stream: ready.set(), app=",".join(apps)))

    def stop_events(self):
        streams, self._streams = self._streams, []
        for stream in streams:
            stream.close()

    def close(self):
        self.stop_events()
        self.ari.close()


# key kinds of the path parameter naming an entity, by path prefix (longest first)
_ENTITY_PATHS = (
    ("/recordings/live/", "liverecording", ("recordingName",)),
    ("/recordings/stored/", "storedrecording", ("recordingName",)),
    ("/asterisk/config/dynamic/", "config", ("configClass", "objectType", "id")),
    ("/asterisk/modules/", "module", ("moduleName",)),
    ("/asterisk/logging/", "logging", ("logChannelName",)),
    ("/channels/", "channel", ("channelId",)),
    ("/bridges/", "bridge", ("bridgeId",)),
    ("/playbacks/", "playback", ("playbackId",)),
    ("/endpoints/", "endpoint", ("tech", "resource")),
    ("/deviceStates/", "devicestate", ("deviceName",)),
    ("/mailboxes/", "mailbox", ("mailboxName",)),
    ("/sounds/", "sound", ("soundId",)),
    ("/applications/", "application", ("applicationName",)),
)
# operations whose path names an entity that does not exist yet: one server creates it
_CREATES = frozenset([("channels", "originateWithId"), ("bridges", "createWithId")])
# operations naming an existing entity outside the path
_NAMED_ELSEWHERE = {("events", "claimChannel"): ("channel", ("channelId",))}


def entity_key(op, params):
    """``(kind, id)`` of the existing entity ``op`` acts on (routes it to that entity's server), or None."""
    if (op.resource, op.nickname) in _CREATES:
        return None
    named = _NAMED_ELSEWHERE.get((op.resource, op.nickname))
    if named is None:
        for prefix, kind, names in _ENTITY_PATHS:
            if op.path.startswith(prefix):
                named = (kind, names)
                break
    if named is None:
        return None
    kind, names = named
    taken = {p.name for p in op.params}
    if not all(n in taken for n in names):
        return None
    values = [params.get(n) for n in names]
    if any(v in (None, "") for v in values):
        return None
    return kind, "/".join(str(v) for v in values)


def gathers(op, key):
    """True for list reads naming no entity: every server's answer is collected."""
    return op.method == "GET" and op.response_class.startswith("List[") and key is None


class ProxyBackend:
    """Over ari-proxy servers on NATS through ``ariproxy.Client`` and the generic kind ``AriCall``.

    Reads of an entity and commands on one go to every server of the app
    (or straight to the entity's server when its node is known) and the
    owner answers; lists are gathered from every server; operations naming
    no existing entity (originate, bridge create, ...) go to one server.
    StasisStart reaches one running copy per call when ``distribute`` (the
    client's queue group, shared with ``Client.listen`` and Go clients).
    """

    kind = "proxy"

    def __init__(self, url, app=None, distribute=True, timeout=5.0, prefix="ari.", **options):
        from ariproxy.client import Client
        self.client = Client(application=app or None, url=url, prefix=prefix, timeout=timeout,
                             retries=options.pop("retries", 0), name=options.pop("name", "ariproxy-compat"),
                             **options)
        self.distribute = distribute
        self._subs = []
        self._children = []

    def __repr__(self):
        return "<ProxyBackend %r>" % (self.client,)

    def call(self, op, params, node=""):
        return _as_ari_py(op, self._call, op, params, node)

    def _call(self, op, params, node):
        from ariproxy.protocol import Key
        op.prepare(params)  # check locally first: a bad parameter never reaches a server
        entity = entity_key(op, params)
        if gathers(op, entity):
            results = self.client.generic_gather(op.resource, op.nickname, params,
                                                 key=Key("", "", node or "", "", ""))
            return _concat(results)
        key = Key(entity[0], entity[1], node or "", "", "") if entity else Key("", "", node or "", "", "")
        return self.client.generic(op.resource, op.nickname, params, key=key)

    def start_events(self, apps, feed, ready):
        from ariproxy.protocol import Event
        from ariproxy.protocol.subjects import LISTEN_QUEUE_GROUP, event_pattern

        for app in apps:
            child = self.client.new(application=app)
            self._children.append(child)
            self._subs.append(child.on(None, lambda event: feed("all", event.body, event.asterisk_id)))
            if self.distribute:
                def on_start(msg):
                    if b"StasisStart" not in msg.data:
                        return
                    try:
                        event = Event.decode(msg.data)
                    except errors.ProtocolError as exc:
                        log.warning("undecodable event on %s: %s", msg.subject, exc)
                        return
                    if event.type == "StasisStart":
                        feed("start", event.body, event.asterisk_id)
                self._subs.append(self.client.bus.subscribe(event_pattern(self.client.prefix, app), on_start,
                                                            queue=LISTEN_QUEUE_GROUP))
        self.client.bus.flush(timeout=5.0)  # the subscriptions are in place at the NATS server
        ready.set()

    def stop_events(self):
        subs, self._subs = self._subs, []
        for sub in subs:
            try:
                if hasattr(sub, "unsubscribe"):
                    sub.unsubscribe()
                else:
                    sub.close()
            except Exception as exc:
                log.debug("stopping an event subscription: %s", exc)
        children, self._children = self._children, []
        for child in children:
            child.close()

    def close(self):
        self.stop_events()
        self.client.close()


def _concat(results):
    out, seen = [], set()
    for result in results:
        if not isinstance(result, list):
            continue
        for item in result:
            marker = dumps(item)
            if marker not in seen:  # the same entity from two servers of one Asterisk counts once
                seen.add(marker)
                out.append(item)
    return out
