"""Forwarding ARI events to NATS (PROTOCOL.md section 7).

Every event goes once to ``<prefix>event.<app>.<node>`` and once more to
``<prefix>dialogevent.<dialog>`` for each dialog bound to an entity the event
references.  Asterisk's frame already carries ``type``, ``application``,
``asterisk_id`` and ``timestamp``; when those are what the envelope needs the
frame's bytes are published untouched (no re-encoding: the fast path),
otherwise the body is re-encoded with the envelope fields set.

``EventForwarder.forward(event)`` never raises: a bad event is logged and
counted.  It blocks only as long as ``bus.publish`` does (a buffered write).
"""
import logging

from ariproxy import jsonutil
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
        self.stats = {"events": 0, "raw_events": 0, "dialog_events": 0, "event_errors": 0,
                      "bindings_dropped": 0}

    def forward(self, event):
        """Publish one ``protocol.Event``; never raises."""
        try:
            self._forward(event)
        except Exception:
            self.stats["event_errors"] += 1
            log.exception("could not forward event %s", getattr(event, "type", "?"))

    def _forward(self, event):
        node = self._node_source()
        if not node:
            return
        app = self.application
        body = None
        raw = getattr(event, "raw", None)
        if (raw and event.application == app and event.asterisk_id == node
                and event.type and event.timestamp):
            payload = raw if isinstance(raw, bytes) else bytes(raw, "utf-8") if isinstance(raw, str) else bytes(raw)
            self.stats["raw_events"] += 1
        else:
            body = self._envelope(event, app, node)
            payload = jsonutil.dumps(body)
        self._publish(subjects.event_subject(self.prefix, app, node), payload)
        self.stats["events"] += 1

        keys = event.keys()
        if not keys or not len(self.bindings):
            return
        dialogs = self.bindings.dialogs_for(keys)
        if dialogs:
            if body is None:
                body = self._envelope(event, app, node)
            for dialog in dialogs:
                body["dialog"] = dialog
                try:
                    subject = subjects.dialog_subject(self.prefix, dialog)
                except Exception:  # a token that was valid when bound always is; be safe anyway
                    continue
                self._publish(subject, jsonutil.dumps(body))
                self.stats["dialog_events"] += 1
        dropped = self.bindings.forget_destroyed(event.type, keys)
        if dropped:
            self.stats["bindings_dropped"] += dropped

    @staticmethod
    def _envelope(event, app, node):
        body = dict(event.body) if isinstance(event.body, dict) else {}
        body["application"] = app
        body["asterisk_id"] = node
        if event.type:
            body["type"] = event.type
        if event.timestamp and not body.get("timestamp"):
            body["timestamp"] = event.timestamp
        body.pop("dialog", None)
        return body
