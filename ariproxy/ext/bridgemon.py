"""``BridgeMonitor``: a bridge's membership as it changes.

    with BridgeMonitor(bridge, on_change=lambda change: print(change)) as mon:
        mon.wait(lambda m: len(m.members) < 2, timeout=3600)   # someone left

Creating it subscribes first, then reads the bridge's current members (one request), so no change
is missed.  A greenlet of its own applies ChannelEnteredBridge / ChannelLeftBridge / BridgeDestroyed
as they come and calls ``on_change`` (exceptions there are logged).  ``wait()`` blocks only its
caller.  ``close()`` (or leaving the ``with``) releases the subscription.

When events may have been lost (a gap marker) it reads the bridge again: channels that left or
entered meanwhile become LEFT / ENTERED changes, a bridge that is gone a DESTROYED one (their
``event`` is the marker).
"""
import logging

import gevent
from gevent.event import Event as GEvent

from ariproxy.errors import NotFound, Timeout

from ._watch import deadline_after, entity_of, is_gap, probe, remaining

__all__ = ["BridgeMonitor", "BridgeChange", "ENTERED", "LEFT", "DESTROYED"]

log = logging.getLogger("ariproxy.ext")

ENTERED = "entered"
LEFT = "left"
DESTROYED = "destroyed"


class BridgeChange:
    """One membership change: ``type`` (ENTERED, LEFT, DESTROYED), ``channel_id`` ("" for DESTROYED),
    ``members`` (the channel ids after it) and the ``event``."""

    def __init__(self, type, channel_id, members, event):
        self.type = type
        self.channel_id = channel_id
        self.members = members
        self.event = event

    def __repr__(self):
        return "<BridgeChange %s %s -> %s>" % (self.type, self.channel_id or "-", self.members)


class BridgeMonitor:
    """Follows ``bridge``'s members (see the module docstring).  ``members`` is a list of channel ids
    in order of entry, ``changes`` every ``BridgeChange`` so far, ``destroyed`` True once the bridge
    is gone (a bridge that is not found when the monitor starts counts as destroyed)."""

    def __init__(self, bridge, on_change=None):
        self.bridge = bridge
        self.on_change = on_change
        self.members = []
        self.changes = []
        self.destroyed = False
        self._changed = GEvent()
        self._sub = bridge.client.subscribe("ChannelEnteredBridge", "ChannelLeftBridge", "BridgeDestroyed",
                                            key=bridge)
        try:
            data = bridge.data()
            self.members = [c for c in data.get("channels") or [] if isinstance(c, str)]
        except NotFound:
            self.destroyed = True
        except BaseException:
            self._sub.close()
            raise
        self._greenlet = gevent.spawn(self._run)

    def __repr__(self):
        return "<BridgeMonitor %s members=%s%s>" % (self.bridge.id, self.members,
                                                    " destroyed" if self.destroyed else "")

    def _run(self):
        for event in self._sub:
            if is_gap(event):
                if self._resync(event):
                    break
                continue
            if entity_of(event, "bridge") != self.bridge.id:
                continue
            channel_id = entity_of(event, "channel") or ""
            if event.type == "ChannelEnteredBridge":
                if channel_id not in self.members:   # (else already listed by the first read)
                    self._change(ENTERED, channel_id, event)
            elif event.type == "ChannelLeftBridge":
                if channel_id in self.members:
                    self._change(LEFT, channel_id, event)
            else:
                self._change(DESTROYED, "", event)
                break

    def _resync(self, marker):
        """After lost events: the changes between what we know and the bridge's members now.
        Returns True when the bridge is gone."""
        data = probe(self.bridge)
        if data is None:
            self._change(DESTROYED, "", marker)
            return True
        if not isinstance(data, dict):
            return False    # no answer: go on with the events
        now = [c for c in data.get("channels") or [] if isinstance(c, str)]
        for channel_id in [c for c in self.members if c not in now]:
            self._change(LEFT, channel_id, marker)
        for channel_id in [c for c in now if c not in self.members]:
            self._change(ENTERED, channel_id, marker)
        return False

    def _change(self, kind, channel_id, event):
        if kind == ENTERED:
            self.members.append(channel_id)
        elif kind == LEFT:
            self.members.remove(channel_id)
        else:
            self.destroyed = True
            self.members = []
        change = BridgeChange(kind, channel_id, list(self.members), event)
        self.changes.append(change)
        self._changed.set()
        if self.on_change is not None:
            try:
                self.on_change(change)
            except Exception:
                log.exception("bridge monitor callback %r failed on %r", self.on_change, change)

    def wait(self, condition=None, timeout=None):
        """Block until ``condition(monitor)`` is true (default: the next change); returns the monitor.
        Raises ``Timeout`` after ``timeout`` seconds."""
        deadline = deadline_after(timeout)
        seen = len(self.changes)
        while True:
            if condition is not None and condition(self):
                return self
            if condition is None and len(self.changes) > seen:
                return self
            if self.destroyed and self._greenlet.dead:
                if condition is None or not condition(self):
                    raise Timeout("bridge %s is destroyed; the condition can no longer come true" % self.bridge.id)
            self._changed.clear()
            if not self._changed.wait(remaining(deadline)):
                raise Timeout("bridge %s: no such change within %ss (members %s)"
                              % (self.bridge.id, timeout, self.members))

    def wait_empty(self, timeout=None):
        """Block until the bridge has no members (or is destroyed)."""
        return self.wait(lambda m: not m.members, timeout)

    def close(self):
        """Stop following (the subscription is released)."""
        self._sub.close()
        self._greenlet.kill(block=False)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
