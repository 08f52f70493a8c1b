"""Gap markers: an ariproxy extension event saying that an application's event stream had a hole.

A server publishes one ``AriProxyEventGap`` event on ``<prefix>event.<app>.<node>`` (and on the dialog
subject of every dialog bound on that server) when events may have been lost and the stream is whole
again: after the ARI events websocket broke and came back (``source: "ari"``; the events Asterisk emitted
meanwhile are gone, and how many is unknown), or after events could not be handed to NATS
(``source: "nats"``, with the exact count in ``events_lost``).  Go clients ignore event types they do
not know; the Python client hands the marker to every subscription of that subject.

Fields besides the envelope (``type``, ``application``, ``asterisk_id``, ``timestamp``, ``dialog``):
``source``, ``broken_at`` and ``restored_at`` (ARI timestamps), ``seconds``, ``reason`` and
``events_lost`` (an integer, or null when unknown).

No I/O.
"""
import time

from .wire import dump_json

__all__ = ["GAP_EVENT", "ari_timestamp", "gap_event"]

#: the type of the marker event
GAP_EVENT = "AriProxyEventGap"


def ari_timestamp(t=None):
    """``time.time()`` value -> ARI's timestamp format (``2026-11-29T04:20:04.313+0000``)."""
    t = time.time() if t is None else t
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03d+0000" % (int(t * 1000) % 1000)


def gap_event(application, node, source, broken_at, restored_at, reason, events_lost=None, dialog=None):
    """The marker's JSON (bytes).  ``broken_at``/``restored_at`` are ``time.time()`` values."""
    body = {"type": GAP_EVENT, "application": application, "asterisk_id": node}
    if dialog:
        body["dialog"] = dialog
    body.update({
        "timestamp": ari_timestamp(restored_at),
        "source": source,
        "broken_at": ari_timestamp(broken_at),
        "restored_at": ari_timestamp(restored_at),
        "seconds": round(max(0.0, restored_at - broken_at), 3),
        "reason": reason or "",
        "events_lost": events_lost,
    })
    return dump_json(body, "event")
