"""``Client``: the shared NATS connection, request routing and event subscriptions.

A ``Client`` owns (or, for ``client.new()`` children, shares) one
``_Connection``: the bus, the cluster view and the event router.  The
connection is reference counted; closing the last client closes it.  Each
client (parent or child) keeps its own subscriptions and listeners and
releases exactly those on ``close()``.

Requests are routed as in PROTOCOL.md section 5: a key with app and node goes
to the exact server; otherwise it is a broadcast that stops waiting at the
first success (or once every known matching server answered); lists gather
from every matching server; creates go to one server (queue group) unless
the key names a node.  Every call blocks the calling greenlet only, up to
``timeout`` seconds per attempt, ``retries + 1`` attempts on timeout.
"""
import collections
import inspect
import logging
import os
import time
import uuid
import weakref

import gevent
from gevent.pool import Group

from ariproxy import errors
from ariproxy.bus import Bus
from ariproxy.errors import HungUp, NotFound, NotImplementedByServer, ProtocolError, Timeout, ValidationError
from ariproxy.jsonutil import mask_url
from ariproxy.protocol import (GAP_EVENT, GENERIC_KIND, GENERIC_PAYLOAD_FIELD, GENERIC_SPEC, KINDS, Key,
                               Request, Response, check_event_type, generic_class, generic_result)
from ariproxy.protocol.subjects import (LISTEN_QUEUE_GROUP, dialog_subject, event_pattern, normalize_prefix,
                                        subject as make_subject, validate_token)

from .cluster import ClusterView
from .event import ClientEvent
from .events import DEFAULT_QUEUE_SIZE, TERMINAL_EVENTS, Callback, EventRouter, Subscription

__all__ = ["Client", "Listener", "DEFAULT_TIMEOUT", "DEFAULT_RETRIES"]

log = logging.getLogger("ariproxy.client")

DEFAULT_URL = "nats://127.0.0.1:4222"
DEFAULT_TIMEOUT = 1.0
DEFAULT_RETRIES = 1
#: how long a broadcast waits for the first announcement when no server is known yet
DISCOVERY_WAIT = 0.5
#: how many channel ids a connection remembers as created by it (listen() skips their StasisStart)
OWN_CHANNELS = 65536
#: what a listen() handler that raises leaves its call in
ON_ERROR = ("hangup", "continue", "ignore")
URL_ENV = ("NATS_URI", "NATS_URL", "MESSAGEBUS_URL")


def new_id():
    """A fresh entity id (channel, bridge, playback, recording ids are chosen client-side)."""
    return uuid.uuid4().hex


class _Connection:
    """One NATS connection shared by a client and its children (reference counted)."""

    def __init__(self, url, prefix, name, bus=None):
        self.url = url
        self.prefix = prefix
        self.owns_bus = bus is None
        self.cluster = None
        self._lost_at = None      # time.time() when our own NATS connection was lost (None while up)
        self.bus = bus if bus is not None else Bus(servers=url, name=name, on_connect=self._on_connect,
                                                   on_disconnect=self._on_disconnect)
        if self.owns_bus:
            self.bus.connect()
        self.router = EventRouter(self.bus, decode=lambda raw: ClientEvent.decode_for(raw, self))
        self.clients = weakref.WeakSet()    # the open clients on this connection (for event handles)
        self.cluster = ClusterView(self.bus, prefix)
        self.cluster.start()
        self.users = 1
        self.requests = {}      # kind -> requests sent (client and children)
        self.timeouts = {}      # kind -> requests that timed out
        self.own_channels = set()
        self._own_order = collections.deque()

    def mark_own(self, channel_id):
        """Remember a channel created through this connection (bounded: the oldest are forgotten)."""
        if channel_id in self.own_channels:
            return
        self.own_channels.add(channel_id)
        self._own_order.append(channel_id)
        if len(self._own_order) > OWN_CHANNELS:
            self.own_channels.discard(self._own_order.popleft())

    def _on_disconnect(self, bus):
        if self._lost_at is None:
            self._lost_at = time.time()

    def live_client(self):
        """An open client of this connection (handles made from events use it), or None."""
        for client in list(self.clients):
            if not client.closed:
                return client
        return None

    def _on_connect(self, bus):
        # Events published while we were cut off never reach us: say so to every subscription.
        lost_at, self._lost_at = self._lost_at, None
        if lost_at is not None and self.users > 0:
            try:
                self.router.local_gap(lost_at, time.time(), "this client's NATS connection was lost")
            except Exception:
                log.exception("announcing the gap after a reconnect failed")
        # After a reconnect (maybe to another cluster node) ask every server to announce again.
        if self.cluster is not None and self.users > 0:
            try:
                self.cluster.ping()
            except Exception as exc:
                log.debug("ping after reconnect: %s", exc)

    def acquire(self):
        self.users += 1

    def release(self):
        self.users -= 1
        if self.users > 0:
            return
        self.cluster.close()
        self.router.close()
        if self.owns_bus:
            try:
                self.bus.close()
            except Exception as exc:
                log.debug("closing the bus: %s", exc)


def _takes_client(handler):
    """True when ``handler`` accepts a third positional argument (the client it runs under)."""
    try:
        params = inspect.signature(handler).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = 0
    for p in params:
        if p.kind == p.VAR_POSITIONAL:
            return True
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            positional += 1
    return positional >= 3


class Listener:
    """``client.listen(handler)``: StasisStart distribution over a NATS queue group.

    Every Python instance listening with the same application name and prefix
    gets each new call exactly once (PROTOCOL.md section 9).  The Go client
    v5.3.1's ``Listen`` ignores its queue name, so each Go listener also gets
    every call: do not mix Python and Go listeners on one application.  The
    handler runs in its own greenlet as ``handler(channel, event)``, or
    ``handler(channel, event, client)`` when it takes three arguments (``client``:
    the client it runs under, also ``channel.client``).  See ``Client.listen``
    for the options.
    """

    def __init__(self, client, handler, app, queue=LISTEN_QUEUE_GROUP, include_own=False, child=False,
                 on_error="hangup"):
        if on_error not in ON_ERROR:
            raise ValidationError("on_error must be one of %s, not %r" % (", ".join(ON_ERROR), on_error),
                                  "on_error")
        if not callable(handler):
            raise ValidationError("the listen handler must be callable, not %r" % (handler,), "handler")
        self._client = client
        self.handler = handler
        self.app = app
        self.queue = queue
        self.include_own = include_own
        self.child = child
        self.on_error = on_error
        self.handled = 0
        self.skipped_own = 0
        self.failed = 0
        self._pass_client = _takes_client(handler)
        self._greenlets = Group()
        self._closed = False
        self.subject = event_pattern(client.prefix, app)
        # Keep the app's event route open from now on (an entity key no event names costs nothing per
        # event), so a call's events are already flowing, and remembered, when its StasisStart comes.
        self._anchor = client._subscription(("",), Key("listener", new_id(), "", "", app))
        self._sub = client._conn.bus.subscribe(self.subject, self._on_message, queue=queue)

    def __repr__(self):
        return "<Listener %s queue=%s handled=%d%s>" % (self.subject, self.queue, self.handled,
                                                        " closed" if self._closed else "")

    def _on_message(self, msg):
        if self._closed or b"StasisStart" not in msg.data:
            return
        try:
            event = ClientEvent.decode_for(msg.data, self._client._conn)
        except ProtocolError as exc:
            log.warning("listen: undecodable event on %s: %s", msg.subject, exc)
            return
        if event.type != "StasisStart":
            return
        channel = event.body.get("channel") or {}
        channel_id = channel.get("id") if isinstance(channel, dict) else None
        if not channel_id:
            log.warning("listen: StasisStart without a channel id on %s", msg.subject)
            return
        if not self.include_own and channel_id in self._client._conn.own_channels:
            # our own outbound leg (or snoop): it belongs to the code that created it
            self.skipped_own += 1
            log.debug("listen: not handing over channel %s, created by this client", channel_id)
            return
        key = Key("channel", channel_id, event.asterisk_id or "", "", event.application or self.app)
        # Subscribe to the channel now, before the handler runs, so it can wait for later events.
        runs_under = self._client.new() if self.child else self._client
        handle = runs_under._listened_channel(key)
        self.handled += 1
        self._greenlets.spawn(self._run, handle, event, runs_under if self.child else None)

    def _run(self, handle, event, call_client):
        try:
            if self._pass_client:
                self.handler(handle, event, handle.client)
            else:
                self.handler(handle, event)
        except HungUp as exc:
            if exc.id == handle.id:
                log.info("listen handler %s: call %s ended: %s", _name(self.handler), handle.id, exc)
            else:
                self._failed(handle)
        except Exception:
            self._failed(handle)
        finally:
            if call_client is not None:
                call_client.close()

    def _failed(self, handle):
        self.failed += 1
        what = {"hangup": "hanging it up", "continue": "continuing it in the dialplan",
                "ignore": "leaving it as it is"}[self.on_error]
        log.exception("listen handler %s failed for %r: %s", _name(self.handler), handle, what)
        try:
            if self.on_error == "hangup":
                handle.hangup()
            elif self.on_error == "continue":
                handle.continue_in_dialplan()
        except NotFound:
            pass  # the call is already gone
        except Exception as exc:
            log.warning("listen: could not end call %s after its handler failed: %s", handle.id, exc)

    @property
    def running(self):
        """How many handlers are running now."""
        return len(self._greenlets)

    def join(self, timeout=None):
        """Block until the running handlers finish (or ``timeout``)."""
        self._greenlets.join(timeout=timeout)

    def close(self):
        """Stop taking calls; handlers already running go on."""
        if self._closed:
            return
        self._closed = True
        try:
            self._sub.unsubscribe()
        except Exception as exc:
            log.debug("listen unsubscribe: %s", exc)
        self._anchor.close()
        client, self._client = self._client, None
        if client is not None:
            client._forget(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _name(func):
    return getattr(func, "__qualname__", None) or repr(func)


class Client:
    """A synchronous ARI client over ari-proxy servers (see the package docstring).

    ``application`` defaults to ``$ARI_APPLICATION``; ``url`` to ``$NATS_URI``,
    ``$NATS_URL`` or ``$MESSAGEBUS_URL`` (then ``nats://127.0.0.1:4222``).
    ``timeout`` is per attempt in seconds; a request that gets no answer is
    sent again ``retries`` times (creates are never re-sent: a second create
    could succeed twice).  Connecting blocks until the NATS connection is up.
    """

    def __init__(self, application=None, url=None, prefix="ari.", timeout=DEFAULT_TIMEOUT,
                 retries=DEFAULT_RETRIES, queue_size=DEFAULT_QUEUE_SIZE, name="ariproxy-client",
                 *, bus=None, _parent=None):
        # validate first: nothing to release when the arguments are refused
        if timeout is None or timeout <= 0:
            raise ValidationError("timeout must be a positive number of seconds", "timeout")
        if retries is None or retries < 0:
            raise ValidationError("retries must be 0 or more", "retries")
        if _parent is None and application is None:
            application = os.environ.get("ARI_APPLICATION") or None
        if application:
            validate_token("application", application)
        if _parent is not None:
            self._conn = _parent._conn
            self._conn.acquire()
        else:
            if url is None:
                url = next((os.environ[v] for v in URL_ENV if os.environ.get(v)), DEFAULT_URL)
            self._conn = _Connection(url, normalize_prefix(prefix), name, bus=bus)
        self.application = application or None
        self.prefix = self._conn.prefix
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.queue_size = queue_size
        self._owned = set()
        self._closed = False
        self._conn.clients.add(self)
        from .resources import attach_resources
        attach_resources(self)

    # -- lifetime ---------------------------------------------------------------
    def new(self, application=None, timeout=None, retries=None, queue_size=None):
        """A child client sharing this connection and cluster view, with its own subscriptions
        (and, if given, another application)."""
        self._check_open()
        return Client(application or self.application, prefix=self.prefix,
                      timeout=self.timeout if timeout is None else timeout,
                      retries=self.retries if retries is None else retries,
                      queue_size=self.queue_size if queue_size is None else queue_size,
                      _parent=self)

    def close(self):
        """Close this client's subscriptions and listeners; the connection closes with its last user."""
        if self._closed:
            return
        self._closed = True
        self._conn.clients.discard(self)
        for thing in list(self._owned):
            thing.close()
        self._owned.clear()
        self._conn.release()

    @property
    def closed(self):
        return self._closed

    @property
    def subscriptions(self):
        """How many subscriptions, callbacks and listeners this client holds open now (not its children's)."""
        return len(self._owned)

    def _check_open(self):
        if self._closed:
            raise errors.AriProxyError("client is closed")

    def _forget(self, thing):
        self._owned.discard(thing)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        state = "closed" if self._closed else "%d subscriptions" % len(self._owned)
        return "<Client app=%r %s prefix=%r %s>" % (self.application, mask_url(self._conn.url), self.prefix,
                                                    state)

    # -- cluster ------------------------------------------------------------------
    @property
    def bus(self):
        """The shared ``ariproxy.bus.Bus``."""
        return self._conn.bus

    @property
    def cluster(self):
        return self._conn.cluster

    def nodes(self, app=None):
        """Servers seen in announcements (``Node(node, application, age)``), of ``app`` if given."""
        return self._conn.cluster.nodes(app)

    def ping(self, wait=0.0, count=None):
        """Ask every server to announce; returns ``nodes()``.

        With ``wait`` (seconds) it blocks: until ``count`` members of this
        client's application answered when ``count`` is given, else for the
        whole ``wait``, after which servers that did not answer are forgotten.
        """
        cluster = self._conn.cluster
        sent = cluster.ping()
        if wait and count:
            cluster.wait(lambda c: c.count(self.application) >= count, wait)
        elif wait:
            gevent.sleep(wait)
            cluster.confirm(sent)
        return self.nodes()

    def stats(self):
        """Counters for troubleshooting (a fresh dict; nothing here blocks).

        ``requests`` and ``timeouts`` by kind and ``reconnects`` are the shared
        connection's (this client and its ``new()`` children); ``subscriptions``
        lists this client's own event subscriptions with the events
        ``delivered`` to and ``dropped`` by each (queue full); ``events`` is
        the connection's event router (received, undecodable, duplicates),
        ``bus`` the NATS connection's counters, ``duplicates`` the (node,
        application) pairs announced by more than one process.
        """
        conn = self._conn
        bus = dict(conn.bus.stats)
        subs = []
        for thing in list(self._owned):
            sub = getattr(thing, "subscription", thing)
            if not isinstance(sub, Subscription):
                continue
            key = sub.key.to_dict() if sub.key is not None else None
            subs.append({"subject": sub.subject, "types": sorted(sub.types), "key": key,
                         "delivered": sub.delivered, "dropped": sub.dropped, "pending": sub.pending,
                         "closed": sub.closed})
        subs.sort(key=lambda d: (d["subject"], str(d["key"]), d["types"]))
        return {
            "requests": dict(conn.requests),
            "timeouts": dict(conn.timeouts),
            "reconnects": bus.get("reconnects", 0),
            "events": dict(conn.router.stats),
            "subscriptions": subs,
            "events_delivered": sum(d["delivered"] for d in subs),
            "events_dropped": sum(d["dropped"] for d in subs),
            "duplicates": [(n.node, n.application) for n in conn.cluster.duplicates()],
            "bus": bus,
        }

    def duplicates(self, app=None):
        """Servers whose (node, application) more than one process announces (``Node``s, ``duplicate``)."""
        return self._conn.cluster.duplicates(app)

    # -- keys and handles ----------------------------------------------------------
    def key(self, kind, id="", node="", dialog="", app=None):
        """A Key in this client's application (``app`` overrides)."""
        return Key(kind, id or "", node or "", dialog or "", (self.application or "") if app is None else app)

    def _handle_for(self, key, early=False):
        from .handles import handle_class
        return handle_class(key.kind)(self, key, early=early)

    def _listened_channel(self, key):
        """The handle listen() gives a handler: subscribed, with the call's events so far."""
        from .handles import Channel
        return Channel(self, key, early="backfill")

    def handle(self, key):
        """The handle (Channel, Bridge, ...) for a Key or its dict form."""
        if not isinstance(key, Key):
            key = Key.from_dict(key)
        return self._handle_for(key)

    # -- requests ----------------------------------------------------------------------
    def _scope(self, key):
        if key.app or not self.application:
            return key
        return key._replace(app=self.application)

    def request(self, kind, key=None, payload_field=None, payload=None, cls=None, timeout=None):
        """Send one request and return the ``Response`` (raises the mapped exception on error).

        ``cls`` overrides the kinds table's class (get, get-list, data, command,
        create).  Lists return a Response whose ``keys`` are gathered from every
        matching server.
        """
        self._check_open()
        conn = self._conn
        name = kind if kind in KINDS or kind == GENERIC_KIND else "unknown"
        conn.requests[name] = conn.requests.get(name, 0) + 1
        try:
            return self._request(kind, key, payload_field, payload, cls, timeout)
        except Timeout:
            conn.timeouts[name] = conn.timeouts.get(name, 0) + 1
            raise

    def _request(self, kind, key, payload_field, payload, cls, timeout):
        if key is None:
            key = Key()
        elif not isinstance(key, Key):
            key = Key.from_dict(key) or Key()
        if cls is None:
            spec = KINDS.get(kind)
            if spec is None:
                raise ValidationError("unknown request kind %r" % (kind,), "kind")
            cls = spec.cls
        data = Request(kind, key, payload_field, payload).encode()
        timeout = self.timeout if timeout is None else timeout
        if cls == "get-list":
            return self._gather_list(kind, key, data, timeout)
        subject = make_subject(self.prefix, cls, key.app or None, key.node or None)
        if cls == "create" or (key.app and key.node):
            attempts = 1 if cls == "create" else self.retries + 1
            return self._request_one(kind, subject, data, timeout, attempts)
        return self._broadcast_first(kind, key, subject, data, timeout)

    def _request_one(self, kind, subject, data, timeout, attempts):
        for attempt in range(attempts):
            try:
                msg = self._conn.bus.request(subject, data, timeout=timeout)
            except Timeout:
                if attempt + 1 < attempts:
                    log.debug("%s on %s: no answer in %.2fs, retrying", kind, subject, timeout)
                    continue
                raise Timeout("%s: no answer from %s within %.2fs (%d attempt%s)"
                              % (kind, subject, timeout, attempts, "s" if attempts > 1 else "")) from None
            resp = Response.decode(msg.data)
            return resp.raise_for_error()

    def _expected(self, key):
        """How many servers a broadcast for ``key`` reaches (waiting briefly if none is known yet)."""
        n = self._known(key)
        if n == 0:
            # Just started (or nothing announced yet): give the ping a moment to be answered.
            n = self._conn.cluster.wait(lambda c: self._known(key), min(DISCOVERY_WAIT, self.timeout))
        return n

    def _broadcast_first(self, kind, key, subject, data, timeout):
        """First successful answer of a broadcast; stops once every known server answered."""
        expected = self._expected(key)
        for attempt in range(self.retries + 1):
            decoded = []

            def until(msgs):
                for m in msgs[len(decoded):]:
                    try:
                        decoded.append(Response.decode(m.data))
                    except ProtocolError as exc:
                        log.warning("%s: undecodable reply on %s: %s", kind, subject, exc)
                        decoded.append(None)
                if any(r is not None and r.ok for r in decoded):
                    return True
                return bool(expected) and len(msgs) >= max(expected, self._known(key))

            # NATS dropping meanwhile raises ConnectionLost at once, as an exact-node request does
            msgs = self._conn.bus.gather(subject, data, timeout=timeout, until=until, raise_on_loss=True)
            until(msgs)
            for r in decoded:
                if r is not None and r.ok:
                    return r
            failures = [r for r in decoded if r is not None]
            if failures:
                raise _best_error(failures)
            if attempt < self.retries:
                log.debug("%s on %s: no answer in %.2fs, retrying", kind, subject, timeout)
        raise Timeout("%s: no answer on %s within %.2fs (%d attempt%s)"
                      % (kind, subject, timeout, self.retries + 1, "s" if self.retries else ""))

    def _gather_list(self, kind, key, data, timeout):
        """A List: gather from every matching server, concatenate ``keys``."""
        subject = make_subject(self.prefix, "get", key.app or None, key.node or None)
        msgs = self._gather_all(kind, key, subject, data, timeout)
        keys, failures, seen = [], [], set()
        for m in msgs:
            try:
                r = Response.decode(m.data)
            except ProtocolError as exc:
                log.warning("%s: undecodable reply on %s: %s", kind, subject, exc)
                continue
            if not r.ok:
                failures.append(r)
                continue
            for k in r.keys:
                # the same entity from two servers of one node/app counts once (id-less keys,
                # a Go SoundList quirk, cannot be told apart: all kept)
                if not k.id:
                    keys.append(k)
                elif k not in seen:
                    seen.add(k)
                    keys.append(k)
        if failures and len(failures) == len(msgs):
            raise _best_error(failures)
        for r in failures:
            log.warning("%s: one server answered %r", kind, r.error)
        return Response(keys=keys)

    def _gather_all(self, what, key, subject, data, timeout):
        """Publish once per attempt and collect every known matching server's reply (Timeout if none)."""
        expected = self._expected(key)
        for attempt in range(self.retries + 1):
            msgs = self._conn.bus.gather(
                subject, data, timeout=timeout, raise_on_loss=True,
                until=lambda ms: bool(expected) and len(ms) >= max(expected, self._known(key)))
            if msgs:
                return msgs
            if attempt < self.retries:
                log.debug("%s on %s: no answer in %.2fs, retrying", what, subject, timeout)
        raise Timeout("%s: no answer on %s within %.2fs (%d attempt%s)"
                      % (what, subject, timeout, self.retries + 1, "s" if self.retries else ""))

    def _known(self, key):
        """Known servers that answer a request for ``key`` (PROTOCOL.md 5: members matching its app and node).

        A key with a node but no app goes to the bare broadcast subject, yet
        only that node's servers answer it (the others ignore requests outside
        their scope), so counting every server would wait for replies that
        never come.
        """
        if key.app and key.node:
            return 1
        return self._conn.cluster.count(key.app, key.node)

    def generic(self, resource, operation, params=None, key=None, cls=None, timeout=None):
        """Call an ARI operation that has no Go request kind, through the generic kind ``AriCall``.

        ``params`` are named as in the Asterisk spec (path parameters too).
        Returns ARI's result (JSON value, None, or bytes for a binary body).
        A server that does not know the kind (a Go ari-proxy server) answers
        ``Not implemented``: raised as ``NotImplementedByServer`` saying so.
        """
        key = self._scope(key or Key())
        if cls is None:
            cls = generic_class(resource, operation, key)
        payload = GENERIC_SPEC.build_payload(resource, operation, params)
        try:
            resp = self.request(GENERIC_KIND, key, GENERIC_PAYLOAD_FIELD, payload, cls=cls, timeout=timeout)
        except NotImplementedByServer as exc:
            raise NotImplementedByServer(
                "the ari-proxy server does not support %s.%s (it answered %r; a Go ari-proxy server only "
                "knows its own request kinds)" % (resource, operation, exc.message)) from None
        return generic_result(resp)

    def generic_gather(self, resource, operation, params=None, key=None, timeout=None):
        """Call a read operation through ``AriCall`` on every matching server; one result per server.

        For lists (``channels.list``, ``bridges.list``...) over several
        servers: the request goes out once, every known server of the key's
        app (and node) is waited for, up to ``timeout`` (the client's by
        default).  Servers that answer with an error are logged and left out;
        when all of them fail, the best error is raised, when none answers,
        ``Timeout``.
        """
        self._check_open()
        key = self._scope(key or Key())
        payload = GENERIC_SPEC.build_payload(resource, operation, params)
        data = Request(GENERIC_KIND, key, GENERIC_PAYLOAD_FIELD, payload).encode()
        subject = make_subject(self.prefix, "data", key.app or None, key.node or None)
        timeout = self.timeout if timeout is None else timeout
        msgs = self._gather_all("%s.%s" % (resource, operation), key, subject, data, timeout)
        results, failures = [], []
        for m in msgs:
            try:
                resp = Response.decode(m.data)
            except ProtocolError as exc:
                log.warning("%s.%s: undecodable reply on %s: %s", resource, operation, subject, exc)
                continue
            if resp.ok:
                results.append(generic_result(resp))
            else:
                failures.append(resp)
        if failures and not results:
            exc = _best_error(failures)
            if isinstance(exc, NotImplementedByServer):
                raise NotImplementedByServer(
                    "the ari-proxy server does not support %s.%s (a Go ari-proxy server only knows its own "
                    "request kinds)" % (resource, operation)) from None
            raise exc
        for r in failures:
            log.warning("%s.%s: one server answered %r", resource, operation, r.error)
        return results

    # -- events ---------------------------------------------------------------------------
    def _subject_for(self, key):
        if key is not None and key.dialog:
            return dialog_subject(self.prefix, key.dialog)
        app = (key.app if key is not None and key.app else None) or self.application
        return event_pattern(self.prefix, app)

    def _subscription(self, types, key, queue_size=None, terminal=(), backfill=False):
        self._check_open()
        sub = Subscription(self._conn.router, self._subject_for(key), types, key,
                           maxsize=queue_size or self.queue_size, owner=self, terminal=terminal)
        self._conn.router.add(sub, backfill=backfill)
        self._owned.add(sub)
        return sub

    def subscribe(self, *event_types, key=None, queue_size=None, strict=True):
        """A ``Subscription`` to events of ``event_types`` (all when none given).

        With ``key`` (a Key, its dict form or a handle) only events about that
        entity (or, for a key with a dialog, the dialog's events).  Each type
        must be one of the ARI spec's (``ValidationError`` names the closest,
        so ``"StasisStrat"`` cannot wait forever); ``strict=False`` lets a
        newer Asterisk's types through.  Never blocks beyond a NATS write.
        """
        if strict:
            for name in event_types:
                check_event_type(name)
        if key is not None and not isinstance(key, Key):
            key = key.key if isinstance(getattr(key, "key", None), Key) else Key.from_dict(key)  # a handle
        if key is not None and not (key.id or key.dialog):
            key = key if (key.node or key.app) else None
        return self._subscription(event_types, key, queue_size)

    def on(self, event_type, callback, key=None, queue_size=None, strict=True):
        """Call ``callback(event)`` for each event of ``event_type`` (a name, a list, or None for all)
        in a greenlet of its own; returns a closable ``Callback``.  Types are checked as in
        ``subscribe``."""
        types = () if event_type is None else ((event_type,) if isinstance(event_type, str) else tuple(event_type))
        sub = self.subscribe(*types, key=key, queue_size=queue_size, strict=strict)
        cb = Callback(sub, callback)
        return cb

    def on_gap(self, callback, key=None):
        """Call ``callback(marker)`` whenever a server says this application's events may have been lost
        (its ``AriProxyEventGap`` marker: ``marker["source"]``, ``["broken_at"]``, ``["restored_at"]``,
        ``["events_lost"]``), e.g. to resynchronise by listing channels.  Runs in a greenlet of its own;
        returns a closable ``Callback``.  Every other subscription of the subject gets the marker too."""
        return self.on(GAP_EVENT, callback, key=key)

    def _early_subscription(self, key, backfill=False):
        """The subscription a client-created entity gets before its create request is sent
        (or a listened call before its handler runs: with the subject's recent events)."""
        if key.kind == "channel" and not backfill:
            self._conn.mark_own(key.id)
        return self._subscription((), key, terminal=TERMINAL_EVENTS.get(key.kind, ()), backfill=backfill)

    def listen(self, handler, queue=LISTEN_QUEUE_GROUP, include_own=False, child=False, on_error="hangup"):
        """Distribute new calls (StasisStart) among every Python instance listening with this
        application: each call reaches exactly one of them (and every Go listener, which ignores the
        queue group).  ``handler(channel, event)`` (or ``handler(channel, event,
        client)``) runs in its own greenlet; never blocks the caller.  Returns a ``Listener``
        (``close()`` it to stop).

        - Channels created through this client's connection (its originates, snoops, ... and its
          children's) are not handed over: they belong to the code that created them.
          ``include_own=True`` hands them over too.  (Another instance in the queue group cannot tell
          them apart: give outbound legs another application, or a dialog, when several instances run.)
        - ``child=True``: each call runs under its own ``client.new()`` child, closed when the handler
          returns, so every subscription the handler made through ``channel.client`` is released.
        - A handler that raises is logged and its call hung up (``on_error="hangup"``), sent on in the
          dialplan (``"continue"``) or left alone (``"ignore"``); ``HungUp`` for the call itself only
          logs that the call ended.
        """
        self._check_open()
        if not self.application:
            raise ValidationError("listen() needs an application (Client(application=...) or ARI_APPLICATION)",
                                  "application")
        listener = Listener(self, handler, self.application, queue, include_own=include_own, child=child,
                            on_error=on_error)
        self._owned.add(listener)
        return listener


def _best_error(responses):
    """The exception for a set of failed answers: a real failure beats 'not found here'."""
    excs = [errors.error_from_text(r.error) for r in responses]
    for exc in excs:
        if not isinstance(exc, errors.NotFound):
            return exc
    return excs[0]

