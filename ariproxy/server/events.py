"""Forwarding ARI events to NATS (PROTOCOL.md section 7).

Every event goes once to ``<prefix>event.<app>.<node>`` and once more to
``<prefix>dialogevent.<dialog>`` for each dialog bound to an entity the event
references.  Asterisk's frame already carries ``type``, ``application``,
``asterisk_id`` and ``timestamp``; when those are what the envelope needs the
frame's bytes are published untouched (no re-encoding: the fast path); a
missing field (``dialog`` on dialog subjects) is spliced in front of the
bytes, and only a field that must change forces a re-encode
(``protocol.Event.encode``).  Event types nobody knows are forwarded as they
are; events without entities are published too.

``EventForwarder.forward(event)`` never raises: a bad event is logged and
counted.  It blocks only as long as ``bus.publish`` does (a buffered write).

Holes are never silent (``protocol.gaps``): ``publish_gap`` sends the
``AriProxyEventGap`` marker (the server calls it after the ARI websocket came
back), and events that NATS could not take (disconnected, with the bus's
pending buffer full) are counted, logged once per outage, and followed by a
marker with their count as soon as NATS takes messages again.
"""
import logging
import time

from ariproxy.bus import NotConnected, PayloadTooLarge
from ariproxy.protocol import gap_event, subjects

__all__ = ["EventForwarder"]

log = logging.getLogger("ariproxy.server.events")


class EventForwarder:
    """Publishes events for one server; reads ``server.node``/``server.application`` on each event.

    ``publish(subject, payload)`` is the bus's publish; ``bindings`` a
    :class:`~ariproxy.server.dialogs.DialogBindings`.
    """

    def __init__(self, publish, bindings, prefix, application, node_source):
        self._publish = publish
        self.bindings = bindings
        self.prefix = subjects.normalize_prefix(prefix)
        self.application = application
        self._node_source = node_source
        self._subject = (None, None)   # (node, its event subject): tokens validated once per node
        self.stats = {"events": 0, "raw_events": 0, "dialog_events": 0, "event_errors": 0,
                      "bindings_dropped": 0, "event_gaps": 0, "events_unpublished": 0}
        # events NATS did not take since the outage began: (count, time.time() of the first, last error)
        self._unpublished = None

    def forward(self, event):
        """Publish one ``protocol.Event``; never raises."""
        if self._unpublished is not None and not self.flush_gap():
            self._count_unpublished(None)
            return
        try:
            self._forward(event)
        except NotConnected as e:
            self._count_unpublished(e)
        except PayloadTooLarge as e:
            self.stats["event_errors"] += 1
            log.warning("event %s not forwarded: %s", getattr(event, "type", "?"), e)
        except Exception:
            self.stats["event_errors"] += 1
            log.exception("could not forward event %s", getattr(event, "type", "?"))

    def _event_subject(self, node):
        """The application's event subject for ``node`` (tokens validated once per node)."""
        if self._subject[0] != node:
            self._subject = (node, subjects.event_subject(self.prefix, self.application, node))
        return self._subject[1]

    def _count_unpublished(self, exc):
        self.stats["events_unpublished"] += 1
        if self._unpublished is None:
            self._unpublished = [0, time.time(), exc]
            log.error("NATS is not taking events (%s): dropping them, counted, until it is back",
                      exc.__class__.__name__ if exc is not None else "not connected")
        self._unpublished[0] += 1

    def flush_gap(self):
        """After events NATS did not take: publish the marker with their count; True once it went out
        (or there was nothing to say), False while NATS still refuses."""
        pending = self._unpublished
        if pending is None:
            return True
        count, since, exc = pending
        try:
            self.publish_gap("nats", since, time.time(), "NATS did not take %d event(s) (%s)"
                             % (count, exc.__class__.__name__ if exc is not None else "not connected"),
                             events_lost=count, raise_errors=True)
        except NotConnected:
            return False
        self._unpublished = None
        log.warning("NATS takes events again: %d event(s) were lost while it did not", count)
        return True

    def publish_gap(self, source, broken_at, restored_at, reason, events_lost=None, raise_errors=False):
        """Publish the ``AriProxyEventGap`` marker on the application's event subject and on the subject
        of every dialog bound here; returns the number of messages sent (0 without a node yet)."""
        node = self._node_source()
        if not node:
            return 0
        app = self.application
        sent = 0
        try:
            self._publish(self._event_subject(node), gap_event(app, node, source, broken_at, restored_at, reason,
                                                      events_lost))
            sent += 1
            for dialog in sorted(self.bindings.dialogs()):
                self._publish(subjects.dialog_subject(self.prefix, dialog),
                              gap_event(app, node, source, broken_at, restored_at, reason, events_lost,
                                        dialog=dialog))
                sent += 1
        except NotConnected:
            if raise_errors:
                raise
            log.warning("gap marker (%s) not published: NATS is not connected", source)
        except Exception:
            log.exception("gap marker (%s) not published", source)
        if sent:
            self.stats["event_gaps"] += 1
        return sent

    def _forward(self, event):
        node = self._node_source()
        if not node:
            return
        app = self.application
        # Asterisk's frame usually has the envelope already: then these are its very bytes.
        payload = event.encode(application=app, asterisk_id=node)
        self._publish(self._event_subject(node), payload)
        self.stats["events"] += 1
        if payload is event.raw:
            self.stats["raw_events"] += 1

        bindings = self.bindings
        if not len(bindings):
            return
        keys = event.keys()
        if not keys:
            return
        for dialog in bindings.dialogs_for(keys):
            self._publish(subjects.dialog_subject(self.prefix, dialog),
                          event.encode(application=app, asterisk_id=node, dialog=dialog))
            self.stats["dialog_events"] += 1
        for key in event.destroys():
            if bindings.forget(key.kind, key.id):
                self.stats["bindings_dropped"] += 1
