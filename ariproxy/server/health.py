"""What a server depends on, whether each is up, and since when (``/health/ready``, systemd ``STATUS=``).

Three components: ``ari_rest`` (REST calls reach Asterisk), ``ari_events``
(the ARI events websocket is up) and ``nats``.  The server core marks the
transitions (:meth:`Health.mark`): the events websocket and NATS from their
connect/disconnect callbacks, REST from the outcome of the calls it makes
anyway (a connection error marks it down, any answer, error statuses
included, marks it up).  Nothing here polls or blocks, except
:meth:`Health.wait_change`.

A server is *ready* when its phase is ``running`` and all three are up.
"""
import datetime
import time

import gevent.event

from ariproxy import errors

__all__ = ["Health", "COMPONENTS", "readiness", "status_line"]

#: the components a ready server needs, in report order
COMPONENTS = ("ari_rest", "ari_events", "nats")

_NAMES = {"ari_rest": "ARI REST", "ari_events": "ARI events websocket", "nats": "NATS"}


def _iso(wall):
    return datetime.datetime.fromtimestamp(wall, datetime.timezone.utc).isoformat(timespec="milliseconds")


class Health:
    """Up/down and since-when of each component; ``version`` grows at every transition."""

    def __init__(self):
        now = time.time()
        self._up = dict.fromkeys(COMPONENTS, False)
        self._since = dict.fromkeys(COMPONENTS, now)
        self._reason = dict.fromkeys(COMPONENTS, "not connected yet")
        self.version = 0
        self._changed = gevent.event.Event()

    def up(self, component):
        """True while ``component`` is up."""
        return self._up[component]

    def since(self, component):
        """Wall-clock time (epoch seconds) of ``component``'s last transition."""
        return self._since[component]

    def mark(self, component, up, reason=None):
        """Record that ``component`` is ``up`` (or down, with ``reason``); True when that is a change."""
        up = bool(up)
        if self._up[component] == up:
            return False
        self._up[component] = up
        self._since[component] = time.time()
        self._reason[component] = None if up else (reason or "down")
        self.version += 1
        changed, self._changed = self._changed, gevent.event.Event()
        changed.set()
        return True

    def rest_result(self, exc):
        """The outcome of one ARI REST call: ``exc`` None (answered) or the exception it raised."""
        if exc is None:
            if not self._up["ari_rest"]:
                self.mark("ari_rest", True)
        elif isinstance(exc, errors.ARIConnectionError):
            self.mark("ari_rest", False, str(exc))

    def wait_change(self, version, timeout=None):
        """Block until ``version`` is no longer current (a transition happened) or ``timeout``."""
        if self.version != version:
            return True
        return self._changed.wait(timeout)

    def down(self):
        """``{component: {"since": ISO time, "seconds": float, "reason": str}}`` of the components down."""
        now = time.time()
        return {c: {"since": _iso(self._since[c]), "seconds": round(max(0.0, now - self._since[c]), 3),
                    "reason": self._reason[c]}
                for c in COMPONENTS if not self._up[c]}

    def snapshot(self):
        """Every component: ``{"up": bool, "since": ISO time}``."""
        return {c: {"up": self._up[c], "since": _iso(self._since[c])} for c in COMPONENTS}


def readiness(server):
    """``(ready, body)`` for ``/health/ready``: the body names what is down and since when."""
    health = server.health
    bus = server.bus
    if health.up("nats") and (bus is None or not bus.connected):
        # The bus noticed the drop; its on_disconnect callback has not run yet.
        health.mark("nats", False, "connection lost")
    if health.up("ari_events") and not server.ari_connected:
        health.mark("ari_events", False, "the events websocket closed")
    down = health.down()
    state = server.state
    ready = state == "serving" and not down
    body = {"ready": ready, "state": state, "node": server.node, "application": server.application,
            "instance": server.instance_id, "components": health.snapshot()}
    if down:
        body["down"] = down
    return ready, body


def status_line(server):
    """One line for systemd's ``STATUS=``: serving, or what is down."""
    state = server.state
    if state in ("new", "connecting"):
        what = [_NAMES[c] for c in COMPONENTS if not server.health.up(c)]
        return "connecting (waiting for %s)" % ", ".join(what) if what else "connecting"
    if state in ("stopping", "stopped", "failed"):
        return state
    ready, body = readiness(server)
    if ready:
        return "serving %s as node %s" % (server.application, server.node)
    down = body.get("down") or {}
    parts = []
    for c in COMPONENTS:
        if c in down:
            parts.append("%s down since %s" % (_NAMES[c], down[c]["since"]))
    head = "NATS down" if "nats" in down and not ({"ari_rest", "ari_events"} & set(down)) else "ARI down"
    if "nats" in down and {"ari_rest", "ari_events"} & set(down):
        head = "ARI and NATS down"
    return "%s: %s" % (head, "; ".join(parts) or state)
