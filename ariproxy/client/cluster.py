"""The cluster view: which ari-proxy servers (node, application) are alive.

Fed by announcements on ``ari.announce`` (every server announces each
minute and whenever anyone publishes on ``ari.ping``).  A member not heard
from for ``max_age`` seconds (Go: 5 minutes) no longer counts, and ``nodes()``
leaves out (forgets) a member that did not answer a ping sent at least
``answer_window`` seconds ago: a server that stopped is gone from the list
after the next ping, not five minutes later.  Broadcast
requests use ``count(app, node)`` to stop waiting as soon as every known
matching server has answered.  Nothing here blocks except ``wait``.

Duplicates: ariproxy servers announce an ``instance`` id of their process.
A (node, application) announced by two processes whose announcements
interleave (each announced again after the other's first announcement), or
whose server says ``duplicate: true`` (it hears the other one), is flagged
``duplicate`` in :meth:`ClusterView.nodes` and logged once: two Asterisk
boxes share an entity id (the remedy: ``entityid`` in ``asterisk.conf``).
A restarted server (a new instance that starts announcing after the old one
stopped) is not a duplicate.
"""
import collections
import logging
import time
from typing import NamedTuple

from gevent.event import Event as GEvent

from ariproxy.errors import ProtocolError
from ariproxy.protocol import Announcement
from ariproxy.protocol.messages import PING_PAYLOAD
from ariproxy.protocol.subjects import announce_subject, ping_subject

__all__ = ["Node", "ClusterView", "MAX_AGE"]

log = logging.getLogger("ariproxy.client.cluster")

MAX_AGE = 300.0
#: seconds a server has to answer a ping before nodes() forgets it
ANSWER_WINDOW = 2.0


class Node(NamedTuple):
    """A cluster member: the Asterisk entity id, the ARI application, when last heard (seconds ago).

    ``duplicate`` is True when more than one process announces this (node,
    application) (see the module docstring); ``instances`` are the announcing
    processes' ids (``""`` for a server that sends none, e.g. a Go server),
    ``implementation`` and ``version`` those of the latest announcement.
    """

    node: str
    application: str
    age: float
    duplicate: bool = False
    instances: tuple = ()
    implementation: str = ""
    version: str = ""

    def __repr__(self):
        return "Node(%r, app=%r, %.1fs ago%s)" % (self.node, self.application, self.age,
                                                  ", DUPLICATE of %d processes" % len(self.instances)
                                                  if self.duplicate else "")


class ClusterView:
    """Members seen in announcements; shared by a client and its children."""

    def __init__(self, bus, prefix, max_age=MAX_AGE, answer_window=ANSWER_WINDOW):
        self._bus = bus
        self._prefix = prefix
        self.max_age = max_age
        self.answer_window = answer_window
        self._pings = collections.deque(maxlen=16)   # monotonic times of our recent pings
        self._confirmed = None     # a ping whose answers were all waited for (ping(wait=...))
        self._members = {}
        # (node, app) -> {instance: [first seen, last seen, implementation, version, says duplicate]}
        self._instances = {}
        self._reported = set()
        self._changed = GEvent()
        self._sub = None
        self._warned = False

    def start(self):
        """Subscribe to announcements and ask every server to announce (returns at once)."""
        self._sub = self._bus.subscribe(announce_subject(self._prefix), self._on_announce)
        self.ping()

    def ping(self):
        """Publish a ping: every live server announces itself at once.  Returns when it was sent."""
        self._bus.publish(ping_subject(self._prefix), PING_PAYLOAD)
        sent = time.monotonic()
        self._pings.append(sent)
        return sent

    def confirm(self, sent):
        """Every answer to the ping sent at ``sent`` is in: members silent since then are forgotten."""
        if self._confirmed is None or sent > self._confirmed:
            self._confirmed = sent

    def _cutoff(self, now):
        """Members last heard before this time did not answer a ping they had time to answer."""
        cutoff = self._confirmed
        for sent in reversed(self._pings):
            if now - sent >= self.answer_window:
                if cutoff is None or sent > cutoff:
                    cutoff = sent
                break
        return cutoff

    def _on_announce(self, msg):
        try:
            ann = Announcement.decode(msg.data)
        except ProtocolError as exc:
            if not self._warned:
                self._warned = True
                log.warning("ignoring an announcement that does not decode: %s (logged once)", exc)
            return
        key = (ann.node, ann.application)
        if key not in self._members:
            log.debug("cluster member %s/%s", ann.application, ann.node)
        now = time.monotonic()
        self._members[key] = now
        seen = self._instances.setdefault(key, {})
        entry = seen.get(ann.instance)
        if entry is None:
            seen[ann.instance] = [now, now, ann.implementation, ann.version, ann.duplicate]
        else:
            entry[1:] = [now, ann.implementation, ann.version, ann.duplicate]
        if key not in self._reported and self._is_duplicate(key, now):
            self._reported.add(key)
            log.error("DUPLICATE NODE: %d ari-proxy processes announce node %s application %s (instances %s): "
                      "requests for this node reach either box; give each Asterisk its own entityid in "
                      "asterisk.conf", len(self._live(key, now)), ann.node, ann.application,
                      ", ".join(sorted(i or "(none)" for i in self._live(key, now))))
        self._changed.set()

    def _live(self, key, now):
        return {i: e for i, e in self._instances.get(key, {}).items() if now - e[1] <= self.max_age}

    def _is_duplicate(self, key, now):
        live = self._live(key, now)
        if any(e[4] for e in live.values()):
            return True
        spans = sorted((e[0], e[1]) for e in live.values())
        latest_end = None
        for first, last in spans:
            if latest_end is not None and first < latest_end:
                return True     # this one started before an earlier one last announced: both alive
            latest_end = last if latest_end is None else max(latest_end, last)
        return False

    def forget(self, node=None, app=None):
        """Drop members (e.g. a server known to be gone) so broadcasts stop waiting for them."""
        for n, a in list(self._members):
            if (node is None or n == node) and (app is None or a == app):
                del self._members[(n, a)]
                self._instances.pop((n, a), None)
                self._reported.discard((n, a))

    def nodes(self, app=None):
        """Live members (optionally of one application), sorted by application and node.

        Members that did not answer a ping they had ``answer_window`` seconds
        to answer are forgotten (dropped until they announce again).
        """
        now = time.monotonic()
        cutoff = self._cutoff(now)
        if cutoff is not None:
            for member, seen in list(self._members.items()):
                if seen < cutoff:
                    log.debug("cluster member %s/%s stopped answering pings: forgotten", member[1], member[0])
                    del self._members[member]
        out = []
        for (n, a), seen in self._members.items():
            if now - seen > self.max_age or (app is not None and a != app):
                continue
            live = self._live((n, a), now)
            latest = max(live.values(), key=lambda e: e[1]) if live else [0, 0, "", "", False]
            out.append(Node(n, a, now - seen, self._is_duplicate((n, a), now),
                            tuple(sorted(live, key=lambda i: live[i][0])), latest[2], latest[3]))
        out.sort(key=lambda m: (m.application, m.node))
        return out

    def duplicates(self, app=None):
        """The live members announced by more than one process (see the module docstring)."""
        return [m for m in self.nodes(app) if m.duplicate]

    def count(self, app=None, node=None):
        """How many live members match ``app`` / ``node`` (empty or None = any)."""
        now = time.monotonic()
        n = 0
        for (member_node, member_app), seen in self._members.items():
            if now - seen > self.max_age:
                continue
            if app and member_app != app:
                continue
            if node and member_node != node:
                continue
            n += 1
        return n

    def wait(self, condition, timeout):
        """Block until ``condition(self)`` is true or ``timeout`` passes; return the condition's value."""
        deadline = time.monotonic() + timeout
        while True:
            value = condition(self)
            if value:
                return value
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return value
            self._changed.clear()
            self._changed.wait(remaining)

    def close(self):
        if self._sub is not None:
            sub, self._sub = self._sub, None
            try:
                sub.unsubscribe()
            except Exception:
                pass
