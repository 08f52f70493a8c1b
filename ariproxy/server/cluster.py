"""Cluster sanity: another process announcing this server's (node, application).

Two Asterisk instances with the same entity id (on one host they derive it
from the same MAC address) make two ari-proxy servers announce, and
subscribe to, the same subjects: requests for that node reach either box.
Every server listens to ``<prefix>announce``; an announcement of its own
(node, application) from another process (another ``instance`` id, or none
at all: a Go server) is logged as an error at every announcement and
counted.  The first time a conflicting process is seen the server announces
at once, so the other learns about it too without waiting a whole
announcement interval; while conflicts last its own announcements carry
``duplicate: true`` (for clients that ping once).

The remedy goes in every log line: give each Asterisk its own entity id
(``entityid`` in the ``[options]`` section of ``asterisk.conf``).
"""
import logging
import time

from ariproxy.errors import ProtocolError
from ariproxy.protocol import Announcement

__all__ = ["DuplicateWatch", "REMEDY"]

log = logging.getLogger("ariproxy.server.cluster")

REMEDY = ("give each Asterisk its own entity id: set entityid = <unique MAC-like id> in the [options] "
          "section of asterisk.conf and restart Asterisk")


class DuplicateWatch:
    """Announcements of our (node, application) by other processes.

    ``instance`` is our own id; ``on_new_conflict()`` is called (from the
    announcement's delivery greenlet) when a conflicting process is seen for
    the first time; conflicts not heard from for ``expire`` seconds end.
    """

    def __init__(self, instance, on_new_conflict=None, expire=180.0):
        self.instance = instance
        self.on_new_conflict = on_new_conflict
        self.expire = expire
        self.announcements = 0          # conflicting announcements seen (the metric)
        self._conflicts = {}            # (node, app, other instance) -> (last seen, implementation, version)
        self._bad = 0

    def conflicts(self, node, application):
        """``{other instance: {"implementation", "version", "age"}}`` of live conflicts on (node, application)."""
        now = time.monotonic()
        out = {}
        for (n, a, other), (seen, impl, version) in list(self._conflicts.items()):
            if now - seen > self.expire:
                del self._conflicts[(n, a, other)]
            elif n == node and a == application:
                out[other] = {"implementation": impl, "version": version, "age": round(now - seen, 3)}
        return out

    def active(self, node, application):
        """True while another process announces (node, application)."""
        return bool(self.conflicts(node, application))

    def seen(self, data, node, application):
        """One message on the announce subject; ``node``/``application`` are ours.  Never raises."""
        try:
            ann = Announcement.decode(data)
        except ProtocolError as e:
            self._bad += 1
            if self._bad == 1:
                log.info("ignoring an announcement that does not decode: %s (logged once)", e)
            return False
        if ann.node != node or ann.application != application or ann.instance == self.instance:
            return False
        other = ann.instance or "(none: %s)" % (ann.implementation or "a Go ari-proxy or an old ariproxy")
        key = (node, application, other)
        new = key not in self._conflicts
        self._conflicts[key] = (time.monotonic(), ann.implementation, ann.version)
        self.announcements += 1
        log.error("DUPLICATE NODE: another ari-proxy process (instance %s, %s %s) announces node %s "
                  "application %s like this one (instance %s): requests for this node reach either box. "
                  "Remedy: %s", other, ann.implementation or "implementation unknown", ann.version or "",
                  node, application, self.instance, REMEDY,
                  extra={"node": node, "application": application, "instance": self.instance,
                         "other_instance": other, "other_implementation": ann.implementation,
                         "other_version": ann.version})
        if new and self.on_new_conflict is not None:
            self.on_new_conflict()
        return True
