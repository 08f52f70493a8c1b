"""systemd notifications (``Type=notify``), by hand: one datagram per message on ``$NOTIFY_SOCKET``.

- :func:`notify` sends ``READY=1``, ``STATUS=...``, ``STOPPING=1``,
  ``WATCHDOG=1`` ... (False when not under systemd, or when the socket
  refuses: logged, never raised);
- :func:`watchdog_interval` reads ``WATCHDOG_USEC`` (and ``WATCHDOG_PID``,
  which must be this process when set): the unit's ``WatchdogSec=``;
- :class:`Notifier` keeps systemd informed while a server runs: a
  ``STATUS=`` line whenever what it would say changes (serving, ARI down,
  NATS down, ...: :func:`ariproxy.server.health.status_line`) and
  ``WATCHDOG=1`` every half watchdog interval.  It runs in one greenlet of
  the daemon's loop, so a pinging watchdog also means the loop is alive.

Abstract socket addresses (``@name``) are supported.  No dependency beyond
the standard library.
"""
import logging
import os
import socket
import time

import gevent

from ariproxy.server.health import status_line

__all__ = ["notify", "watchdog_interval", "Notifier"]

log = logging.getLogger("ariproxy.daemon")


def notify(state, environ=None):
    """Send ``state`` (e.g. ``"READY=1\\nSTATUS=serving"``) to systemd; False when not under systemd."""
    environ = os.environ if environ is None else environ
    address = environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    target = "\0" + address[1:] if address.startswith("@") else address   # abstract namespace
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.connect(target)
            s.sendall(state.encode("utf-8"))
        return True
    except OSError as e:
        log.warning("cannot notify systemd at %s: %s", address, e)
        return False


def watchdog_interval(environ=None):
    """The watchdog timeout in seconds when systemd asks this process for pings, else None."""
    environ = os.environ if environ is None else environ
    usec = environ.get("WATCHDOG_USEC")
    if not usec or not environ.get("NOTIFY_SOCKET"):
        return None
    pid = environ.get("WATCHDOG_PID")
    if pid and pid.strip() != str(os.getpid()):
        return None
    try:
        seconds = int(usec) / 1e6
    except ValueError:
        log.warning("ignoring WATCHDOG_USEC=%r: not a number of microseconds", usec)
        return None
    return seconds if seconds > 0 else None


class Notifier:
    """``STATUS=`` on every change of the server's status line, ``WATCHDOG=1`` when asked for.

    ``environ`` defaults to ``os.environ``; ``poll`` bounds how long a
    change can go unreported when no health transition wakes the loop
    (state changes such as stopping).
    """

    def __init__(self, server, environ=None, poll=1.0):
        self.server = server
        self.environ = dict(os.environ if environ is None else environ)
        self.watchdog = watchdog_interval(self.environ)
        self.poll = poll
        self.last_status = None
        self.sent = 0
        self._greenlet = None

    @property
    def enabled(self):
        """True when there is a notify socket to talk to."""
        return bool(self.environ.get("NOTIFY_SOCKET"))

    def start(self):
        """Start the notifying greenlet (a no-op outside systemd); returns self."""
        if self.enabled and self._greenlet is None:
            self._greenlet = gevent.spawn(self._run)
            if self.watchdog:
                log.info("systemd watchdog: pinging every %.1fs (WatchdogSec=%.1fs)", self.watchdog / 2,
                         self.watchdog)
        return self

    def stop(self):
        if self._greenlet is not None:
            g, self._greenlet = self._greenlet, None
            g.kill(block=False)

    def _send(self, text):
        if notify(text, self.environ):
            self.sent += 1

    def update_status(self):
        """Send ``STATUS=`` if the status line changed; returns the line."""
        line = status_line(self.server)
        if line != self.last_status:
            self.last_status = line
            self._send("STATUS=%s" % line)
        return line

    def _run(self):
        health = self.server.health
        interval = min(self.poll, self.watchdog / 2) if self.watchdog else self.poll
        next_ping = 0.0
        while True:
            version = health.version
            try:
                self.update_status()
            except Exception:
                log.exception("systemd status update failed")
            if self.watchdog:
                now = time.monotonic()
                if now >= next_ping:
                    self._send("WATCHDOG=1")
                    next_ping = now + self.watchdog / 2
                wait = max(0.0, min(interval, next_ping - time.monotonic()))
            else:
                wait = interval
            health.wait_change(version, wait)
