"""Event delivery: one NATS subscription per subject, fanned out locally by entity key.

``EventRouter`` (one per NATS connection, shared by a client and its
``new()`` children) keeps exactly one bus subscription per distinct subject
(``ari.event.<app>.>``, ``ari.dialogevent.<dialog>``, ...).  Each incoming
event is decoded once; its entity keys (``event.keys()``) are looked up in a
dict of ``(kind, id) -> subscriptions``, plus the subscriptions that want
every event of the subject.  So delivering an event costs the same with one
or with 10,000 idle subscriptions on other entities.

``Subscription`` is what users hold: iterable, ``get(timeout)``, ``close()``,
a context manager.  A server's gap marker (``AriProxyEventGap``: events may
have been lost) goes to every subscription of its subject whatever its types
and entity, and ``wait()`` raises ``errors.EventGap`` when it reads one.  Its queue is bounded; when full the oldest event is
dropped, counted in ``dropped`` and logged once.  Nothing here runs user
code on the bus's delivery path: callbacks (``client.on``) run in their own
greenlet, reading from their own Subscription.
"""
import collections
import hashlib
import logging

import gevent
from gevent.event import Event as GEvent

from ariproxy.errors import EventGap, ProtocolError, Timeout
from ariproxy.protocol import GAP_EVENT, Event, check_event_type, gap_event

from .entities import destroyed_error, ends_entity, related_entities

__all__ = ["EventRouter", "Subscription", "Callback", "TERMINAL_EVENTS", "DEFAULT_QUEUE_SIZE"]

log = logging.getLogger("ariproxy.client.events")

DEFAULT_QUEUE_SIZE = 1000
#: bytes of events (as they came over NATS) a subscription queues at most; past it the oldest are dropped
DEFAULT_QUEUE_BYTES = 16 * 1024 * 1024

#: the event after which an entity sends nothing more (ends early subscriptions)
TERMINAL_EVENTS = {
    "channel": ("ChannelDestroyed",),
    "bridge": ("BridgeDestroyed",),
    "playback": ("PlaybackFinished",),
    "liverecording": ("RecordingFinished", "RecordingFailed"),
}

# How many recent dialog events are remembered to drop the Go server's duplicates
# (it publishes an event once per bound entity, so twice to one dialog subject).
_DIALOG_DEDUP = 64
# Recent events kept per subject for late entity subscriptions (see EventRouter.add's backfill).
RECENT_EVENTS = 128


class Subscription:
    """A bounded queue of events matching ``types`` (all when empty) and ``key``.

    ``get(timeout=None)`` blocks the calling greenlet until an event arrives
    (raises ``ariproxy.errors.Timeout`` after ``timeout`` seconds, or
    ``StopIteration``-like ``Timeout`` when closed and drained: see
    ``closed``).  Iterating blocks between events and ends once the
    subscription is closed and its queue is empty.
    """

    __slots__ = ("types", "key", "subject", "_router", "_queue", "_ready", "_closed", "_owner",
                 "dropped", "delivered", "_warned", "maxsize", "_terminal", "_ended", "maxbytes", "_bytes",
                 "__weakref__")

    def __init__(self, router, subject, types=(), key=None, maxsize=DEFAULT_QUEUE_SIZE, owner=None,
                 terminal=()):
        self.types = frozenset(types)
        self.key = key
        self.subject = subject
        self.maxsize = maxsize
        self.maxbytes = DEFAULT_QUEUE_BYTES
        self._bytes = 0     # bytes put since the last count: never less than what is queued
        self.dropped = 0
        self.delivered = 0      # events queued for the reader (``client.stats()``)
        self._router = router
        self._queue = collections.deque()
        self._ready = None  # a gevent Event, made when a reader first has to wait (keeps idle ones small)
        self._closed = False
        self._warned = False
        self._owner = owner
        self._terminal = frozenset(terminal)
        self._ended = None  # the event that ended this subscription's entity

    def __repr__(self):
        what = ",".join(sorted(self.types)) or "*"
        key = ""
        if self.key is not None and self.key.id:
            key = " %s:%s" % (self.key.kind or "?", self.key.id)
        elif self.key is not None and self.key.dialog:
            key = " dialog:%s" % self.key.dialog
        state = "closed" if self._closed else "open"
        return "<Subscription %s%s %s pending=%d dropped=%d>" % (what, key, state, len(self._queue), self.dropped)

    # -- delivery (called by the router; never blocks) ------------------------
    def _offer(self, event):
        if self.types and event.type not in self.types:
            return
        self._put(event)

    def _put(self, event):
        key = self.key
        if key is not None and key.node and event.asterisk_id and event.asterisk_id != key.node:
            return
        size = len(event.raw) if event.raw else 0
        self._bytes += size
        if self._bytes > self.maxbytes:
            # readers do not count what they take: count what is really queued (once per maxbytes put)
            self._bytes = sum(len(e.raw) for e in self._queue if e.raw) + size
        while self._queue and (len(self._queue) >= self.maxsize or self._bytes > self.maxbytes):
            old = self._queue.popleft()
            self._bytes -= len(old.raw) if old.raw else 0
            self.dropped += 1
            if not self._warned:
                self._warned = True
                log.warning("%r is full (%d events or %d bytes): dropping the oldest; read faster or raise "
                            "queue_size", self, self.maxsize, self.maxbytes)
        self._queue.append(event)
        self.delivered += 1
        if self._ready is not None:
            self._ready.set()
        if event.type in self._terminal and ends_entity(key, event):
            # The entity is gone: nothing more will come; what is queued stays readable.
            self._ended = event
            self.close()

    # -- reading -------------------------------------------------------------
    @property
    def closed(self):
        return self._closed

    @property
    def pending(self):
        """Number of queued events."""
        return len(self._queue)

    def get(self, timeout=None):
        """The next event; blocks up to ``timeout`` seconds (forever when None).

        Raises ``Timeout`` when none arrives in time, or when the subscription
        is closed and empty.
        """
        while True:
            if self._queue:
                return self._queue.popleft()
            if self._closed:
                raise Timeout("subscription is closed")
            if self._ready is None:
                self._ready = GEvent()
            self._ready.clear()
            if not self._ready.wait(timeout):
                raise Timeout("no event within %ss on %r" % (timeout, self))

    def get_nowait(self):
        """The next queued event or None (never blocks)."""
        if self._queue:
            return self._queue.popleft()
        return None

    def drain(self):
        """Every queued event, removed from the queue (never blocks)."""
        events = list(self._queue)
        self._queue.clear()
        return events

    def wait(self, *types, timeout=None):
        """Read (and discard) events until one of ``types`` arrives; return it.

        Blocks up to ``timeout`` seconds in total; raises ``Timeout``.  When the subscription's
        entity ends first (its ChannelDestroyed, PlaybackFinished, ...: nothing awaited can come any
        more) raises ``HungUp`` (channels, with the hangup cause) or ``EntityDestroyed``; raises
        ``EventGap`` when the server says events may have been lost meanwhile (unless
        ``AriProxyEventGap`` is among ``types``).
        """
        for name in types:
            if name not in self.types:   # subscribed with strict=False: a newer type is fine
                check_event_type(name)
        wanted = frozenset(types)
        deadline = None if timeout is None else gevent.get_hub().loop.now() + timeout
        dialstatus = ""
        while True:
            remaining = None if deadline is None else max(0.0, deadline - gevent.get_hub().loop.now())
            if self._closed and not self._queue and self._ended is not None:
                raise destroyed_error(self.key, self._ended, wanted, dialstatus)
            try:
                event = self.get(remaining)
            except Timeout:
                if self._closed and self._ended is not None:
                    raise destroyed_error(self.key, self._ended, wanted, dialstatus) from None
                raise Timeout("no %s within %ss on %r" % ("/".join(sorted(wanted)) or "event", timeout, self)) \
                    from None
            if not wanted or event.type in wanted:
                return event
            if event.type == GAP_EVENT:
                raise EventGap(event)
            key = self.key
            if key is not None and key.id:
                if event.type == "Dial" and (event.body.get("peer") or {}).get("id") == key.id:
                    dialstatus = event.body.get("dialstatus") or dialstatus
                elif event.type in TERMINAL_EVENTS.get(key.kind, ()) and ends_entity(key, event):
                    raise destroyed_error(key, event, wanted, dialstatus)

    def __iter__(self):
        while True:
            try:
                yield self.get()
            except Timeout:
                return

    # -- lifetime -------------------------------------------------------------
    def _detach(self):
        if self._router is not None:
            router, self._router = self._router, None
            router.remove(self)

    def close(self):
        """Stop delivery and wake readers; the NATS subscription goes when its last user does."""
        if self._closed:
            return
        self._closed = True
        self._detach()
        if self._ready is not None:
            self._ready.set()
        owner, self._owner = self._owner, None
        if owner is not None:
            owner._forget(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Callback:
    """``client.on(...)``: a Subscription read by its own greenlet that calls ``callback(event)``.

    Events reach the callback in order; a slow callback delays only itself
    (its queue is bounded like any subscription's).  Exceptions raised by the
    callback are logged, never propagated into the client.
    """

    def __init__(self, subscription, callback):
        self.subscription = subscription
        self.callback = callback
        self._greenlet = gevent.spawn(self._run)

    def __repr__(self):
        name = getattr(self.callback, "__qualname__", repr(self.callback))
        return "<Callback %s on %r>" % (name, self.subscription)

    def _run(self):
        for event in self.subscription:
            try:
                self.callback(event)
            except Exception:
                log.exception("event callback %r failed on %s", self.callback, event.type)

    def close(self):
        """Stop delivering (an event already being handled finishes)."""
        self.subscription.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _Route:
    """The local fan-out of one NATS subscription."""

    __slots__ = ("subject", "by_entity", "everything", "nats_sub", "count", "dedup", "dedup_order", "recent")

    def __init__(self, subject, dialog):
        self.subject = subject
        self.by_entity = {}
        self.everything = set()
        self.nats_sub = None
        self.count = 0
        self.recent = collections.deque(maxlen=RECENT_EVENTS)
        self.dedup = set() if dialog else None
        self.dedup_order = collections.deque() if dialog else None

    def add(self, sub):
        key = sub.key
        if key is not None and key.id:
            self.by_entity.setdefault((key.kind, key.id), set()).add(sub)
        else:
            self.everything.add(sub)
        self.count += 1

    def remove(self, sub):
        key = sub.key
        if key is not None and key.id:
            entity = (key.kind, key.id)
            subs = self.by_entity.get(entity)
            if subs is None or sub not in subs:
                return False
            subs.discard(sub)
            if not subs:
                del self.by_entity[entity]
        else:
            if sub not in self.everything:
                return False
            self.everything.discard(sub)
        self.count -= 1
        return True

    def is_duplicate(self, raw):
        digest = hashlib.blake2b(raw, digest_size=16).digest()
        if digest in self.dedup:
            return True
        self.dedup.add(digest)
        self.dedup_order.append(digest)
        if len(self.dedup_order) > _DIALOG_DEDUP:
            self.dedup.discard(self.dedup_order.popleft())
        return False


class EventRouter:
    """Owns the event subscriptions of one NATS connection (see module docstring).

    ``add``/``remove`` never block for long: subscribing or unsubscribing at
    the NATS server is a write on the bus connection.
    """

    def __init__(self, bus, decode=Event.decode):
        self._bus = bus
        self._decode = decode      # bytes -> Event (the client passes one that gives entity handles)
        self._routes = {}
        self.stats = {"events": 0, "undecodable": 0, "duplicates": 0}
        self._warned_undecodable = False

    def subjects(self):
        """The subjects with a NATS subscription right now."""
        return sorted(self._routes)

    def add(self, sub, backfill=False):
        """Register ``sub``; with ``backfill`` (entity subscriptions only) it first gets the
        subject's recent events about its entity.  ``listen()`` uses this: the call's StasisStart
        arrives on another NATS subscription, whose greenlet may run after this route already
        delivered the call's next events."""
        route = self._routes.get(sub.subject)
        if route is None:
            route = _Route(sub.subject, dialog=".dialogevent." in "." + sub.subject)
            self._routes[sub.subject] = route
            try:
                route.nats_sub = self._bus.subscribe(sub.subject, lambda msg, r=route: self._deliver(r, msg))
            except Exception:
                del self._routes[sub.subject]
                raise
        if backfill and sub.key is not None and sub.key.id:
            entity = (sub.key.kind, sub.key.id)
            for event, entities in list(route.recent):
                if entity in entities:
                    sub._offer(event)
        route.add(sub)

    def remove(self, sub):
        route = self._routes.get(sub.subject)
        if route is None or not route.remove(sub):
            return
        if route.count == 0:
            del self._routes[sub.subject]
            if route.nats_sub is not None:
                try:
                    route.nats_sub.unsubscribe()
                except Exception as exc:  # connection already gone: nothing left to release
                    log.debug("unsubscribe %s: %s", sub.subject, exc)

    def _deliver(self, route, msg):
        data = msg.data
        if route.dedup is not None and route.is_duplicate(data):
            self.stats["duplicates"] += 1
            return
        try:
            event = self._decode(data)
        except ProtocolError as exc:
            self.stats["undecodable"] += 1
            if not self._warned_undecodable:
                self._warned_undecodable = True
                log.warning("dropping an event that does not decode on %s: %s (logged once)", msg.subject, exc)
            return
        self.stats["events"] += 1
        if event.type == GAP_EVENT:
            self._deliver_gap(route, event)
            return
        targets = list(route.everything) if route.everything else []
        try:
            entities = [(key.kind, key.id) for key in event.keys()] + related_entities(event)
        except ProtocolError:
            entities = []
        route.recent.append((event, entities))
        if route.by_entity:
            for entity in entities:
                subs = route.by_entity.get(entity)
                if subs:
                    targets.extend(subs)
        if not targets:
            return
        if len(targets) > 1:
            # one event may name an entity twice (e.g. caller and peer); deliver once
            targets = list(dict.fromkeys(targets))
        for sub in targets:
            sub._offer(event)

    def local_gap(self, broken_at, restored_at, reason):
        """Our own connection was cut: every subscription gets a gap marker (``source`` ``client``)."""
        routes = list(self._routes.values())
        if not routes:
            return 0
        log.warning("events published between %.3f and %.3f were not received (%s): gap marker to %d subject(s)",
                    broken_at, restored_at, reason, len(routes))
        event = Event.decode(gap_event("", "", "client", broken_at, restored_at, reason))
        for route in routes:
            self._deliver_gap(route, event, quiet=True)
        return len(routes)

    def _deliver_gap(self, route, event, quiet=False):
        """A gap marker reaches every subscription of the subject, whatever it filters on."""
        self.stats["gaps"] = self.stats.get("gaps", 0) + 1
        if not quiet:
            log.warning("the server of node %s says events may have been lost on %s (%s: %s)",
                        event.asterisk_id, route.subject, event.body.get("source"), event.body.get("reason"))
        targets = list(route.everything)
        for subs in route.by_entity.values():
            targets.extend(subs)
        for sub in dict.fromkeys(targets):
            if "" not in sub.types:         # (not the anchors that match no type on purpose: listen())
                sub._put(event)

    def close(self):
        for route in list(self._routes.values()):
            if route.nats_sub is not None:
                try:
                    route.nats_sub.unsubscribe()
                except Exception:
                    pass
        self._routes.clear()
