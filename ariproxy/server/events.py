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
"""
import logging

from ariproxy.bus import PayloadTooLarge
from ariproxy.protocol import subjects

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
                      "bindings_dropped": 0}

    def forward(self, event):
        """Publish one ``protocol.Event``; never raises."""
        try:
            self._forward(event)
        except PayloadTooLarge as e:
            self.stats["event_errors"] += 1
            log.warning("event %s not forwarded: %s", getattr(event, "type", "?"), e)
        except Exception:
            self.stats["event_errors"] += 1
            log.exception("could not forward event %s", getattr(event, "type", "?"))

    def _forward(self, event):
        node = self._node_source()
        if not node:
            return
        app = self.application
        if self._subject[0] != node:
            self._subject = (node, subjects.event_subject(self.prefix, app, node))
        # Asterisk's frame usually has the envelope already: then these are its very bytes.
        payload = event.encode(application=app, asterisk_id=node)
        self._publish(self._subject[1], payload)
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
