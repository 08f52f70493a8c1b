"""One subscription on a channel or bridge that the helpers read: its own events, and (through the
client's target mapping) those of the playbacks and recordings on it.  Internal to ``ariproxy.ext``."""
import logging

import gevent

from ariproxy.errors import AriProxyError, NotFound, Timeout
from ariproxy.protocol import GAP_EVENT

log = logging.getLogger("ariproxy.ext")

#: events after which a channel can no longer be played to, recorded or prompted
CHANNEL_ENDS = ("ChannelHangupRequest", "ChannelDestroyed", "StasisEnd")
BRIDGE_ENDS = ("BridgeDestroyed",)


def clock():
    """The event loop's clock (seconds)."""
    return gevent.get_hub().loop.now()


def remaining(deadline):
    """Seconds left until ``deadline`` (None: no limit), never negative."""
    if deadline is None:
        return None
    return max(0.0, deadline - clock())


def deadline_after(seconds):
    return None if seconds is None else clock() + seconds


def earliest(*deadlines):
    found = [d for d in deadlines if d is not None]
    return min(found) if found else None


def entity_of(event, field):
    value = event.body.get(field)
    return value.get("id") if isinstance(value, dict) else None


class Watch:
    """Subscribed at creation (before any request a helper sends), so nothing is missed.

    ``get(timeout)`` returns the next event or None on timeout; ``ended`` is the event that ended the
    target (hang-up, StasisEnd, BridgeDestroyed) once one was read, or the gap marker after which the
    target was found gone (``found_gone``).  Never blocks beyond ``get``.  A gap marker (``is_gap``)
    comes out of ``get`` like an event: each helper resynchronises on it (``probe``).
    """

    def __init__(self, target):
        self.target = target
        self.is_channel = target.kind == "channel"
        self.sub = target.client.subscribe(key=target)
        self.ended = None

    def get(self, timeout):
        try:
            event = self.sub.get(timeout)
        except Timeout:
            return None
        if self.ended is None and self.ends_target(event):
            self.ended = event
        return event

    def is_gap(self, event):
        """True for a gap marker (events may have been lost): never an ordinary event."""
        return is_gap(event)

    def found_gone(self, marker):
        """The target was found gone after the gap ``marker``: it counts as ended from now on."""
        if self.ended is None:
            self.ended = marker

    def ends_target(self, event):
        if self.is_channel:
            return event.type in CHANNEL_ENDS and entity_of(event, "channel") == self.target.id
        return event.type in BRIDGE_ENDS and entity_of(event, "bridge") == self.target.id

    def is_dtmf(self, event):
        return (self.is_channel and event.type == "ChannelDtmfReceived"
                and entity_of(event, "channel") == self.target.id)

    def close(self):
        self.sub.close()


def settle():
    """Let a ``channel_life()`` watching the same hang-up raise its ``HungUp`` here, before a helper
    returns a hung-up result (both hear the event at once; its throw needs two turns of the loop)."""
    gevent.sleep(0)
    gevent.sleep(0)


def is_gone(handle):
    """True when the entity no longer exists (one request)."""
    try:
        handle.data()
    except NotFound:
        return True
    return False


def quietly(func, what):
    """Run a clean-up request; an entity already gone is fine, other failures are logged."""
    try:
        func()
    except NotFound:
        pass
    except AriProxyError as exc:
        log.info("%s: %s", what, exc)


def in_background(func, what):
    """Clean up from a fresh greenlet (the current one is being killed)."""
    return gevent.spawn(quietly, func, what)


#: a clean-up for an entity whose create request was cut short retries NotFound this often, this far apart
CLEANUP_TRIES = 10
CLEANUP_WAIT = 0.1


def _until_found(func, what):
    for attempt in range(CLEANUP_TRIES):
        try:
            func()
            return
        except NotFound:
            gevent.sleep(CLEANUP_WAIT)   # the create may still be on its way to Asterisk
        except AriProxyError as exc:
            log.info("%s: %s", what, exc)
            return


def cleanup_cut_create(func, what):
    """Clean up, from a fresh greenlet, an entity whose create request the current greenlet was killed
    in: the request may or may not have reached Asterisk, so NotFound is retried for a moment."""
    return gevent.spawn(_until_found, func, what)


# -------------------------------------------------------------------------- resynchronising after a gap

#: after a gap marker, a request the server cannot answer yet (it may still be reconnecting to Asterisk
#: or NATS) is tried again this often, for this long at most
RESYNC_RETRY = 0.25
RESYNC_FOR = 30.0
#: what ``probe()`` returns when no answer came
UNKNOWN = "unknown"


def is_gap(event):
    """True when ``event`` is an ``AriProxyEventGap`` marker (events may have been lost before it)."""
    return event is not None and getattr(event, "type", None) == GAP_EVENT


def probe(handle, deadline=None):
    """After a gap marker: ask Asterisk whether ``handle``'s entity is still there.

    Returns its data (a dict), None when it is gone (NotFound), or ``UNKNOWN`` when no answer came:
    a refused or unanswered request (the server may still be reconnecting) is tried again every
    ``RESYNC_RETRY`` seconds, for ``RESYNC_FOR`` seconds at most and never past ``deadline``.
    """
    give_up = earliest(deadline, clock() + RESYNC_FOR)
    while True:
        try:
            return handle.data()
        except NotFound:
            return None
        except (AriProxyError, ConnectionError, OSError) as exc:
            if clock() + RESYNC_RETRY >= give_up:
                log.warning("after an event gap, %s %s could not be checked (%s): going on waiting for its events",
                            handle.kind, handle.id, exc)
                return UNKNOWN
            log.debug("after an event gap, checking %s %s: %s (trying again)", handle.kind, handle.id, exc)
            gevent.sleep(RESYNC_RETRY)
