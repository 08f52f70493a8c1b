"""``Server``: one ari-proxy server, joining one Asterisk application to NATS.

Life cycle (``state``): ``new`` -> ``connecting`` (ARI, then NATS, each
retried with backoff) -> ``serving`` (the ARI events websocket is up) <->
``ari-down`` (it dropped: requests are refused at once, pings unanswered,
announcements paused) -> ``stopping`` -> ``stopped``; ``failed`` when
startup cannot go on (an empty entity id).

Every request passes through :meth:`Server.dispatch` (ARI down? busy?):
the one seam for metrics and health checks.  A request runs on a worker
greenlet (decode, token checks, scope check, kind lookup, ARI, reply), or,
while REST goes over the ARI websocket, with no greenlet of its own: it is
decoded and sent from the bus's callback and answered from the websocket
reader when ARI replies.  At most ``max_concurrent`` requests are in
flight; past that a request is answered ``busy ...`` at once rather than
queued.

``start()`` returns at once (connecting happens in a greenlet);
``wait_ready(timeout)`` and ``stop(timeout)`` block the calling greenlet;
``run()`` blocks until the server stops and returns the exit status.
"""
import logging
import signal
import threading
import time
import uuid

import gevent
import gevent.event

from ariproxy import __version__, errors
from ariproxy.ari import ARI, HTTP_CLIENTS
from ariproxy.bus import AuthorizationFailed, Bus, InvalidSubject, PayloadTooLarge, check_reply_subject
from ariproxy.jsonutil import mask_url
from ariproxy.protocol import Announcement, Request, Response, subjects
from ariproxy.server import dialogs as dialogs_mod
from ariproxy.server.cluster import DuplicateWatch
from ariproxy.server.events import EventForwarder
from ariproxy.server.handlers import NOT_IMPLEMENTED, RequestHandler, error_response_text
from ariproxy.server.health import Health
from ariproxy.server.workers import WorkerPool

__all__ = ["Server", "ARI_DOWN", "IMPLEMENTATION"]

log = logging.getLogger("ariproxy.server")

ARI_DOWN = "ARI connection is down"
#: what announcements say in ``implementation``
IMPLEMENTATION = "ariproxy-python"

_CONNECT_BACKOFF = (0.1, 5.0)

#: most NATS connections requests may come in over (``nats_intake_connections``)
MAX_INTAKE_CONNECTIONS = 16


_REST_TRANSPORTS = ("auto", "websocket", "http")


def _positive(name, value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise errors.ValidationError("%s must be a number of seconds, got %r" % (name, value), parameter=name)
    if not value > 0:
        raise errors.ValidationError("%s must be more than 0 seconds, got %r" % (name, value), parameter=name)
    return value


class _Fatal(Exception):
    """Startup cannot continue (the server stops with exit status 1)."""


class Server:
    """An ari-proxy server for one ARI application (see docs/ARCHITECTURE.md for the arguments)."""

    #: (first wait, cap) in seconds between connection attempts at startup
    connect_backoff = _CONNECT_BACKOFF
    #: seconds between looks for pooled ARI HTTP connections that Asterisk closed
    reap_interval = 2.0

    def __init__(self, ari_url="http://127.0.0.1:8088/ari", ari_ws_url=None, ari_username="asterisk",
                 ari_password="asterisk", application="default", nats_url="nats://127.0.0.1:4222",
                 prefix="ari.", announce_interval=60.0, entity_check_interval=10.0, max_concurrent=1000,
                 exit_on_entity_change=False, rest_transport="auto", shutdown_timeout=10.0,
                 ari_timeout=5.0, max_dialog_entities=100000, name="ariproxy-server", ari_http_client="requests",
                 events_ping_interval=0.5, events_pong_timeout=1.0, events_max_backlog=64 * 1024 * 1024,
                 nats_pending_buffer=8 * 1024 * 1024, http=None, metrics=True, instance_id=None,
                 max_request_bytes=64 * 1024 * 1024, nats_ping_interval=5.0, retry_auth_failures=False,
                 nats_intake_connections=8):
        self.application = subjects.validate_token("application", application)
        self.prefix = subjects.normalize_prefix(prefix)
        self.ari_url = ari_url
        self.ari_ws_url = ari_ws_url
        self.ari_username = ari_username
        self._ari_password = ari_password
        self.nats_url = nats_url
        self.announce_interval = _positive("announce_interval", announce_interval)
        self.entity_check_interval = _positive("entity_check_interval", entity_check_interval)
        if int(max_concurrent) < 1:
            raise errors.ValidationError("max_concurrent must be at least 1", parameter="max_concurrent")
        self.max_concurrent = int(max_concurrent)
        # bytes of requests accepted and not answered yet (past it: busy), and (a quarter of it, 2 MiB at
        # most) of requests each subscription holds before dispatch: a burst of big requests never grows the
        # process, and is read fast (most answered busy by the reader) so nats-server does not cut us as a
        # slow consumer
        if int(max_request_bytes) < 1024 * 1024:
            raise errors.ValidationError("max_request_bytes must be at least 1 MiB", parameter="max_request_bytes")
        self.max_request_bytes = int(max_request_bytes)
        self._queue_bytes = min(2 * 1024 * 1024, self.max_request_bytes // 4)
        self.exit_on_entity_change = bool(exit_on_entity_change)
        if rest_transport not in _REST_TRANSPORTS:
            raise errors.ValidationError("rest_transport must be one of %s, got %r"
                                         % ("|".join(_REST_TRANSPORTS), rest_transport), parameter="rest_transport")
        self.rest_transport = rest_transport
        if ari_http_client not in HTTP_CLIENTS:
            raise errors.ValidationError("ari_http_client must be one of %s, got %r"
                                         % ("|".join(HTTP_CLIENTS), ari_http_client), parameter="ari_http_client")
        self.ari_http_client = ari_http_client
        self.shutdown_timeout = _positive("shutdown_timeout", shutdown_timeout)
        self.ari_timeout = _positive("ari_timeout", ari_timeout)
        # the events websocket: ping this often, give it up when nothing comes back this long after a ping
        self.events_ping_interval = _positive("events_ping_interval", events_ping_interval)
        self.events_pong_timeout = _positive("events_pong_timeout", events_pong_timeout)
        if int(events_max_backlog) < 65536:
            raise errors.ValidationError("events_max_backlog must be at least 65536 bytes",
                                         parameter="events_max_backlog")
        self.events_max_backlog = int(events_max_backlog)
        # wrong ARI or NATS credentials at startup: fail at once (an init script shows it) unless told
        self.retry_auth_failures = bool(retry_auth_failures)
        # bytes the NATS connection buffers while it reconnects (events past it are counted as lost)
        self.nats_pending_buffer = int(nats_pending_buffer)
        # a NATS connection that leaves 2 PINGs unanswered (one per this many seconds) is stale: reconnect
        self.nats_ping_interval = _positive("nats_ping_interval", nats_ping_interval)
        # requests come in over this many NATS connections (one queue group of our own over them, so each
        # request still reaches this server once): nats-server writes to one connection from one place, and
        # under a burst of big requests it falls behind on a single one and cuts it as a slow consumer
        try:
            intake = int(nats_intake_connections)
        except (TypeError, ValueError):
            intake = 0
        if not 1 <= intake <= MAX_INTAKE_CONNECTIONS:
            raise errors.ValidationError("nats_intake_connections must be 1 to %d, got %r"
                                         % (MAX_INTAKE_CONNECTIONS, nats_intake_connections),
                                         parameter="nats_intake_connections")
        self.nats_intake_connections = intake
        self.name = name
        #: this process's id in announcements (a duplicate (node, app) is told apart by it)
        self.instance_id = instance_id or uuid.uuid4().hex
        self.implementation = IMPLEMENTATION
        self.health = Health()
        #: request/event observations for metrics (None when metrics are off)
        self.observer = None
        self.http = None
        if http:
            from ariproxy.server.http import HTTPListener, parse_address
            parse_address(http)
            if metrics:
                from ariproxy.server import metrics as metrics_mod
                from ariproxy.server.observer import RequestObserver
                metrics_mod.require()
                self.observer = RequestObserver(self.prefix)
            self.http = HTTPListener(self, http, metrics=bool(metrics))
        self.duplicates = DuplicateWatch(self.instance_id, on_new_conflict=lambda: gevent.spawn(self._announce),
                                         expire=max(180.0, 3 * self.announce_interval))

        self.node = None
        self._phase = "new"      # new, connecting, running, stopping, stopped, failed
        self._ari_generation = 0
        self.exit_status = None
        self.ari = None
        self.bus = None
        self._intake = []         # the NATS connections besides ``bus`` that requests come in over
        self.event_stream = None
        self.dialog_bindings = dialogs_mod.DialogBindings(max_entities=max_dialog_entities)
        self.events = EventForwarder(self._publish, self.dialog_bindings, self.prefix, self.application,
                                     lambda: self.node)
        self.handler = RequestHandler(self)
        self._pool = WorkerPool(self.max_concurrent)
        self._held = {}           # accepted requests not answered yet: Msg -> its size
        self._held_bytes = 0
        self._ari_up = False
        self._accepting = False
        self._subs = []           # subscriptions of the request and ping subjects
        self._exact_subs = []     # the node-level ones (replaced on an entity id change)
        self._greenlets = []
        self._ready = gevent.event.Event()
        self._stopped = gevent.event.Event()
        self._counters = {"requests": 0, "accepted": 0, "replies": 0, "busy": 0, "ignored": 0,
                          "errors": 0, "bad_requests": 0, "not_implemented": 0, "ari_down": 0,
                          "announcements": 0, "pings": 0, "entity_changes": 0, "ari_reconnects": 0,
                          "http_reaped": 0, "bad_replies": 0, "shutdown_abandoned": 0}

    def __repr__(self):
        return "<Server app=%s node=%s state=%s ari=%s nats=%s>" % (
            self.application, self.node, self.state, mask_url(self.ari_url), mask_url(self.nats_url))

    # -- public API -----------------------------------------------------------------------------

    @property
    def stats(self):
        """Counters (requests, replies, busy, events, ...) and gauges (in_flight, dialog bindings)."""
        out = dict(self._counters)
        out.update(self.events.stats)
        out["in_flight"] = len(self._pool)
        out["in_flight_bytes"] = self._held_bytes
        out["dialog_entities"] = len(self.dialog_bindings)
        out["dialog_evicted"] = self.dialog_bindings.evicted
        out["ari_up"] = self._ari_up
        stream = self.event_stream
        if stream is not None:
            st = stream.stats
            out["ari_disconnects"] = st["disconnects"]
            out["ari_gaps"] = st["gaps"]
            out["ari_pong_timeouts"] = st["pong_timeouts"]
            out["ari_cut_frames"] = st["cut_frames"]
            out["ari_bad_frames"] = st["bad_frames"]
            out["events_backlog"] = stream.backlog
            out["events_backlog_peak"] = st["backlog_peak"]
            out["events_backlog_full"] = st["backlog_full"]
        out["duplicate_announcements"] = self.duplicates.announcements
        out["duplicate_instances"] = len(self.duplicates.conflicts(self.node, self.application)) if self.node else 0
        if self.bus is not None:
            bus_stats = dict(self.bus.stats)
            for extra in self._intake:   # the counters of every NATS connection together
                for key, value in extra.stats.items():
                    if isinstance(value, int) and not isinstance(value, bool):
                        bus_stats[key] = bus_stats.get(key, 0) + value
            out["bus"] = bus_stats
            out["nats_connections"] = 1 + len(self._intake)
        return out

    @property
    def state(self):
        """``new``, ``connecting``, ``serving``, ``ari-down``, ``stopping``, ``stopped`` or ``failed``."""
        phase = self._phase
        if phase == "running":
            return "serving" if self._ari_up else "ari-down"
        return phase

    @property
    def ari_connected(self):
        """True while the ARI events websocket is up."""
        return self._ari_up

    def start(self):
        """Begin connecting in the background; returns at once."""
        if self._phase != "new":
            raise RuntimeError("Server.start() called twice (state %s)" % self.state)
        if self.http is not None:
            self.http.start()   # binds now: a busy port fails start() itself
        self._phase = "connecting"
        self._spawn(self._startup)
        return self

    def wait_ready(self, timeout=None):
        """Block until serving (True), or until ``timeout`` passes or the start fails (False)."""
        gevent.wait([self._ready, self._stopped], timeout=timeout, count=1)
        return self._ready.is_set() and not self._stopped.is_set()

    def wait_stopped(self, timeout=None):
        """Block until the server has stopped; True if it has."""
        return self._stopped.wait(timeout)

    def stop(self, timeout=None):
        """Graceful stop; blocks until done (at most about ``timeout`` or ``shutdown_timeout``).

        Stops taking requests (unsubscribes), lets the requests already
        accepted finish and answer, drains NATS, closes ARI.
        """
        if self._phase in ("stopping", "stopped", "failed"):
            self._stopped.wait(timeout)
            return
        self._shutdown(timeout if timeout is not None else self.shutdown_timeout)

    def run(self):
        """Start, block until stopped (SIGTERM/SIGINT stop gracefully), return the exit status."""
        handlers = []
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                try:
                    handlers.append(gevent.signal_handler(sig, self._on_signal, sig))
                except (ValueError, OSError):  # not possible here (e.g. embedded in another loop)
                    pass
        try:
            if self._phase == "new":
                self.start()
            self._stopped.wait()
        finally:
            for h in handlers:
                h.cancel()
        return self.exit_status or 0

    # -- startup --------------------------------------------------------------------------------

    def _spawn(self, func, *args):
        g = gevent.spawn(func, *args)
        self._greenlets.append(g)
        g.link(lambda done: self._greenlets.remove(done) if done in self._greenlets else None)
        return g

    def _on_signal(self, sig):
        log.info("signal %d: stopping gracefully", sig)
        gevent.spawn(self.stop)

    def _retry(self, what, attempt_fn):
        """Call ``attempt_fn`` until it succeeds or the server is stopping; log each attempt."""
        wait, cap = self.connect_backoff
        attempt = 0
        while self._phase == "connecting":
            attempt += 1
            log.info("%s (attempt %d)", what, attempt)
            try:
                return attempt_fn()
            except _Fatal:
                raise
            except (errors.Unauthorized, errors.Forbidden, AuthorizationFailed) as e:
                if not self.retry_auth_failures:
                    raise _Fatal("%s: the credentials were refused (%s); fix them (ARI: ari_username/"
                                 "ari_password, NATS: user:password@ in nats_url), or set retry_auth_failures "
                                 "to keep retrying" % (what, mask_url(str(e))))
                log.warning("%s: credentials refused (attempt %d): %s; retrying in %.1fs (retry_auth_failures)",
                            what, attempt, mask_url(str(e)), wait)
            except Exception as e:
                log.warning("%s failed (attempt %d): %s; retrying in %.1fs",
                            what, attempt, mask_url(str(e)), wait)
            gevent.sleep(wait)
            wait = min(wait * 2, cap)
        raise gevent.GreenletExit()

    def _startup(self):
        try:
            self._connect_ari()
            self._connect_nats()
            self._open_events()
            self._subscribe_all()
            self._accepting = True
            self._phase = "running"
            self._spawn(self._announce_loop)
            self._spawn(self._entity_check_loop)
            self._spawn(self._reap_loop)
            self._maybe_ready()
        except gevent.GreenletExit:
            return
        except _Fatal as e:
            log.error("cannot start: %s", e)
            self.exit_status = 1
            self._close_connections()
            self._phase = "failed"
            self._stopped.set()
        except Exception:
            log.exception("cannot start")
            self.exit_status = 1
            self._close_connections()
            self._phase = "failed"
            self._stopped.set()

    def _make_ari(self):
        return ARI(url=self.ari_url, username=self.ari_username, password=self._ari_password,
                   app=self.application, timeout=self.ari_timeout, rest_transport=self.rest_transport,
                   ws_url=self.ari_ws_url, http_client=self.ari_http_client)

    def _connect_ari(self):
        self.ari = self._make_ari()
        what = "connecting to ARI at %s" % mask_url(self.ari_url)
        info = self._retry(what, self.ari.info)
        self.health.mark("ari_rest", True)
        self.node = self._entity_id(info)

    @staticmethod
    def _entity_id(info):
        entity_id = ((info or {}).get("system") or {}).get("entity_id") if isinstance(info, dict) else None
        if not entity_id:
            raise _Fatal("Asterisk reported an empty entity id (system.entity_id in /asterisk/info); "
                         "set entity_id in asterisk.conf")
        try:
            return subjects.validate_token("entity id", entity_id)
        except errors.ProtocolError as e:
            raise _Fatal(str(e))

    def _connect_nats(self):
        self.bus = Bus(servers=self.nats_url, name=self.name, reconnect=True, pending_buffer=self.nats_pending_buffer,
                       ping_interval=self.nats_ping_interval,
                       on_connect=self._on_nats_connect, on_disconnect=self._on_nats_disconnect)
        self._retry("connecting to NATS at %s" % mask_url(self.nats_url), self.bus.connect)
        for i in range(1, self.nats_intake_connections):
            bus = Bus(servers=self.nats_url, name="%s-intake-%d" % (self.name, i), reconnect=True, quiet=True,
                      pending_buffer=min(self.nats_pending_buffer, 1024 * 1024), ping_interval=self.nats_ping_interval)
            try:
                bus.connect()
            except Exception as e:
                log.warning("NATS request connection %d of %d failed: %s; retrying", i + 1,
                            self.nats_intake_connections, mask_url(str(e)))
                self._retry("connecting to NATS at %s (request connection %d of %d)"
                            % (mask_url(self.nats_url), i + 1, self.nats_intake_connections), bus.connect)
            self._intake.append(bus)
        if self._intake:
            log.info("requests come in over %d NATS connections (nats_intake_connections)", 1 + len(self._intake))

    @property
    def _intake_queue(self):
        """This server's own queue group over its request connections (one per process)."""
        return "ariproxy-intake.%s" % self.instance_id

    def _open_events(self):
        forward = self.events.forward
        if self.observer is not None:
            forward = self.observer.wrap_forward(forward)
        self.event_stream = self.ari.events(forward, on_connect=self._on_ari_connect,
                                            on_disconnect=self._on_ari_disconnect, on_gap=self._on_ari_gap,
                                            ping_interval=self.events_ping_interval,
                                            pong_timeout=self.events_pong_timeout,
                                            max_backlog=self.events_max_backlog)

    def _subscribe_all(self):
        for cls in subjects.REQUEST_CLASSES:
            queue = subjects.CREATE_QUEUE_GROUP if cls == "create" else None
            for level, subj in enumerate(subjects.request_subjects(self.prefix, cls, self.application, self.node)):
                subs = self._subscribe_requests(subj, level, queue)
                self._subs.extend(subs)
                if level == 2:
                    self._exact_subs.extend(subs)
        self._subs.append(self.bus.subscribe(subjects.ping_subject(self.prefix), self._on_ping))
        self._subs.append(self.bus.subscribe(subjects.announce_subject(self.prefix), self._on_announcement))
        self._flush_all()

    @property
    def _buses(self):
        """Every NATS connection: the main one, then those that only take requests in."""
        return [self.bus] + self._intake if self.bus is not None else []

    def _flush_all(self, timeout=2.0):
        """Wait until nats-server has every connection's subscriptions (errors are the bus's to log)."""
        for bus in self._buses:
            try:
                bus.flush(timeout=timeout)
            except Exception as e:
                log.debug("flush of %s: %s", bus.name, e)

    def _request_callback(self, level):
        return lambda msg: self.dispatch(msg, level)

    def _subscribe_requests(self, subj, level, queue):
        """The subscriptions of one request subject, each bounded by bytes too (past it: busy at once).

        A subject in a shared queue group (``create``: one server of all takes each) is subscribed once;
        any other on every request connection, in this server's own queue group.
        """
        callback = self._request_callback(level)
        if queue is not None or not self._intake:
            return [self.bus.subscribe(subj, callback, queue=queue, max_pending_bytes=self._queue_bytes,
                                       on_overflow=self._overflow)]
        group = self._intake_queue
        return [bus.subscribe(subj, callback, queue=group, max_pending_bytes=self._queue_bytes,
                              on_overflow=self._overflow) for bus in self._buses]

    def _overflow(self, msg):
        """The bus's reader could not queue ``msg`` (the subscription holds too much): busy, at once."""
        self._counters["requests"] += 1
        self._counters["busy"] += 1
        self._reply(msg, Response(error="busy: too many requests waiting to be read (%d bytes queued at most)"
                                  % self._queue_bytes).encode())

    # -- connection events ----------------------------------------------------------------------

    def _on_ari_connect(self, *args):
        gevent.spawn(self._ari_came_up, self._ari_generation)

    def _ari_came_up(self, generation):
        """The events websocket (re)connected: check the entity id, then serve and announce."""
        reconnect = self._ready.is_set()
        if reconnect:
            # A reconnect may be a restarted Asterisk: check its entity id before serving again.
            try:
                self._check_entity()
            except Exception as e:
                log.warning("entity id check after ARI reconnect failed: %s", mask_url(str(e)))
        if (generation != self._ari_generation or self._phase not in ("connecting", "running")
                or self.exit_status is not None):
            return  # it dropped again meanwhile, or we are stopping (exit_on_entity_change)
        self._ari_up = True
        self.health.mark("ari_events", True)
        if reconnect:
            log.info("ARI events websocket is back: serving again")
            self._announce()
        self._maybe_ready()

    def _maybe_ready(self):
        """Serving starts once the subscriptions are in place and the websocket is up (either order)."""
        if self._phase == "running" and self._ari_up and not self._ready.is_set():
            self._ready.set()
            log.info("serving application %s as node %s (prefix %s)", self.application, self.node, self.prefix)
            self._announce()

    def _on_ari_gap(self, stream, gap):
        """The events websocket came back after a break: tell the applications (gap marker)."""
        self._counters["ari_reconnects"] += 1
        sent = self.events.publish_gap("ari", gap.broken_at, gap.restored_at, gap.reason)
        log.warning("ARI events were down for %.2fs (%s): events Asterisk sent meanwhile are lost; gap marker "
                    "published to %d subject(s)", gap.seconds, gap.reason, sent)

    def _on_ari_disconnect(self, *args):
        self._ari_generation += 1
        if self._ari_up:
            log.warning("ARI events websocket is down: refusing requests until it is back")
        self._ari_up = False
        self.health.mark("ari_events", False, "the events websocket closed")

    def _on_nats_connect(self, *args):
        gevent.spawn(self.events.flush_gap)
        if self.bus is not None and self.bus.connected:
            self.health.mark("nats", True)
        if self._ready.is_set():
            log.info("NATS connection is back (%s)", mask_url(getattr(self.bus, "connected_url", "") or ""))
            gevent.spawn(self._announce)

    def _on_nats_disconnect(self, *args):
        self.health.mark("nats", False, "connection lost")
        if self._phase not in ("stopping", "stopped"):
            log.warning("NATS connection lost; reconnecting")

    # -- announcements, ping, entity id ---------------------------------------------------------

    def _announce(self):
        """Publish our announcement (only while ARI is up and NATS is there)."""
        if not self._ari_up or self.bus is None or not self.node or self._phase in ("stopping", "stopped"):
            return False
        try:
            self.bus.publish(subjects.announce_subject(self.prefix), Announcement(
                node=self.node, application=self.application, instance=self.instance_id,
                implementation=self.implementation, version=__version__,
                duplicate=self.duplicates.active(self.node, self.application)).encode())
        except Exception as e:
            log.warning("announcement not sent: %s", e)
            return False
        self._counters["announcements"] += 1
        return True

    def _announce_loop(self):
        while self._phase not in ("stopping", "stopped"):
            gevent.sleep(self.announce_interval)
            self._announce()

    def _on_announcement(self, msg):
        """Another server's announcement (or ours): does another process claim our node and app?"""
        node = self.node
        if node and node.encode() in msg.data:   # cheap filter: only ours get decoded
            self.duplicates.seen(msg.data, node, self.application)

    def _on_ping(self, msg):
        self._counters["pings"] += 1
        if self._accepting:
            self._announce()

    def _entity_check_loop(self):
        while self._phase not in ("stopping", "stopped"):
            gevent.sleep(self.entity_check_interval)
            if not self._ari_up:
                continue
            try:
                self._check_entity()
            except Exception as e:
                self.health.rest_result(e)
                log.warning("entity id check failed: %s", mask_url(str(e)))

    def _reap_loop(self):
        """Close the pooled ARI HTTP connections Asterisk closed (no sockets left in CLOSE-WAIT)."""
        while self._phase not in ("stopping", "stopped"):
            gevent.sleep(self.reap_interval)
            try:
                closed = self.ari.http.reap_idle()
            except Exception:
                log.exception("closing dead ARI HTTP connections failed")
                continue
            if closed:
                self._counters["http_reaped"] += closed
                log.debug("closed %d ARI HTTP connection(s) Asterisk had closed", closed)

    def _check_entity(self):
        """Ask Asterisk for its entity id; handle a change.  Blocks on one ARI call."""
        info = self.ari.info()
        self.health.rest_result(None)
        entity_id = ((info or {}).get("system") or {}).get("entity_id") if isinstance(info, dict) else None
        if entity_id and entity_id != self.node:
            self._entity_changed(entity_id)

    def _entity_changed(self, entity_id):
        old = self.node
        self._counters["entity_changes"] += 1
        if self.exit_on_entity_change:
            log.error("Asterisk entity id changed from %s to %s: exiting (exit_on_entity_change)", old, entity_id)
            self.exit_status = 1
            gevent.spawn(self.stop)
            return
        try:
            subjects.validate_token("entity id", entity_id)
        except errors.ProtocolError as e:
            log.error("Asterisk reports an unusable entity id: %s; keeping %s", e, old)
            return
        log.warning("Asterisk entity id changed from %s to %s: serving under the new id", old, entity_id)
        self.node = entity_id
        # Entities of the old Asterisk are gone, so are their dialogs.
        self.dialog_bindings.clear()
        for sub in self._exact_subs:
            self._unsubscribe(sub)
            if sub in self._subs:
                self._subs.remove(sub)
        self._exact_subs = []
        for cls in subjects.REQUEST_CLASSES:
            queue = subjects.CREATE_QUEUE_GROUP if cls == "create" else None
            subj = subjects.subject(self.prefix, cls, self.application, entity_id)
            subs = self._subscribe_requests(subj, 2, queue)
            self._subs.extend(subs)
            self._exact_subs.extend(subs)
        self._flush_all()
        self._announce()

    # -- requests -------------------------------------------------------------------------------

    def dispatch(self, msg, level=2):
        """Take one request message (``level``: 0 bare, 1 app, 2 exact subject).

        Runs on the bus's callback greenlet and never blocks: the request is
        refused (``busy``, ARI down), handed to a worker greenlet, or (REST
        over the ARI websocket) sent to ARI from here.
        """
        self._counters["requests"] += 1
        reply = msg.reply
        if reply and ("*" in reply or ">" in reply or len(reply) > 256 or not reply.isascii()):
            try:
                check_reply_subject(reply)
            except InvalidSubject as e:
                # not answered, not run: a wildcard reply subject would publish to whoever listens there
                self._counters["bad_replies"] += 1
                n = self._counters["bad_replies"]
                if n == 1 or not n % 1000:
                    log.warning("request on %s refused (%d so far): %s", msg.subject, n, e)
                return
        if self.observer is not None:
            msg = self.observer.begin(msg)
        if not self._accepting:
            # Stopping: the subscription is going away; let another server take it if it can.
            self._reply(msg, Response(error="server is shutting down").encode())
            return
        if not self._ari_up:
            self._counters["ari_down"] += 1
            self._reply(msg, Response(error=ARI_DOWN).encode())
            return
        if self._pool.full():
            self._counters["busy"] += 1
            self._reply(msg, Response(error="busy: %d requests in flight (max_concurrent)"
                                      % self.max_concurrent).encode())
            return
        size = len(msg.data)
        if self._held and self._held_bytes + size > self.max_request_bytes:
            self._counters["busy"] += 1
            self._reply(msg, Response(error="busy: %d bytes of requests in flight (max_request_bytes %d)"
                                      % (self._held_bytes, self.max_request_bytes)).encode())
            return
        self._held[msg] = size
        self._held_bytes += size
        self._counters["accepted"] += 1
        ari = self.ari
        if ari is not None and ari.can_start:
            self._serve_without_worker(msg, level)
        else:
            self._pool.spawn(self._serve, msg, level)

    def _serve_without_worker(self, msg, level):
        """Serve a request whose ARI call goes over the websocket: decoded and sent from here (the bus's
        greenlet), answered from the websocket reader when ARI replies.  No greenlet waits per request."""
        pool = self._pool
        pool.hold()
        held = [True]

        def done(response):
            if not held[0]:
                return      # answered already
            held[0] = False
            try:
                self._answer(msg, response)
            except Exception as e:
                self._failed(msg, e)
            finally:
                pool.release()

        try:
            request = self._decode(msg, level)
            if request is not None and self.handler.start(request, done):
                return
        except Exception as e:
            if held[0]:
                held[0] = False
                pool.release()
                self._failed(msg, e)
            else:
                log.exception("request on %s failed after its answer", msg.subject)
            return
        held[0] = False
        pool.release()
        if request is not None:
            self._pool.spawn(self._serve_request, msg, request)

    def _serve(self, msg, level):
        """Decode, check, execute and answer one request (in a worker greenlet)."""
        try:
            request = self._decode(msg, level)
            if request is not None:
                self._answer(msg, self.handler.handle(request))
        except Exception as e:
            self._failed(msg, e)

    def _serve_request(self, msg, request):
        try:
            self._answer(msg, self.handler.handle(request))
        except Exception as e:
            self._failed(msg, e)

    def _decode(self, msg, level):
        """The Request in ``msg``; None when it is answered already (malformed, wrong server) or not ours."""
        try:
            request = Request.decode(msg.data)
        except errors.ProtocolError as e:
            self._counters["bad_requests"] += 1
            log.info("bad request on %s: %s", msg.subject, e, extra={"subject": msg.subject})
            self._reply(msg, Response(error="bad request: %s" % e).encode())
            return None
        key = request.key
        if level < 2 and key is not None and not self._in_scope(key):
            # Another node's or app's request on a shared subject: its server answers it.
            if msg.subject.startswith(self.prefix + "create"):
                self._reply(msg, Response(error="wrong server: request for app %r node %r reached "
                                          "app %s node %s" % (key.app, key.node, self.application,
                                                              self.node)).encode())
            else:
                self._counters["ignored"] += 1
                self._release(msg)
            return None
        if self.observer is not None:
            self.observer.decoded(msg, request)
        return request

    def _answer(self, msg, response):
        if self.observer is not None:
            self.observer.answered(msg, response)
        if response.error:
            self._counters["errors"] += 1
            if response.error == NOT_IMPLEMENTED:
                self._counters["not_implemented"] += 1
            elif response.error.startswith("bad request"):
                self._counters["bad_requests"] += 1
        self._reply(msg, response.encode())

    def _failed(self, msg, exc):
        self._counters["errors"] += 1
        log.error("request on %s failed", msg.subject, exc_info=exc, extra={"subject": msg.subject})
        try:
            self._reply(msg, Response(error=error_response_text(exc)).encode())
        except Exception:
            log.exception("could not send the error reply")

    def _in_scope(self, key):
        return (not key.node or key.node == self.node) and (not key.app or key.app == self.application)

    def _release(self, msg):
        """``msg`` is answered (or needs no answer): no longer held."""
        size = self._held.pop(msg, None)
        if size is not None:
            self._held_bytes -= size

    def _reply(self, msg, payload):
        if self.observer is not None:
            self.observer.replied(msg, payload)
        if self._held:
            self._release(msg)
        if not msg.reply:
            return
        bus = msg._bus or self.bus     # answered over the connection it came in on
        try:
            try:
                bus.publish(msg.reply, payload)
            except PayloadTooLarge:
                # Say so rather than leave the requester to time out (e.g. a list of 50,000 channels).
                log.warning("reply to %s is %d bytes, over NATS max_payload %d", msg.subject, len(payload),
                            bus.max_payload)
                bus.publish(msg.reply, Response(
                    error="response too large: %d bytes over the NATS max_payload of %d bytes"
                    % (len(payload), bus.max_payload)).encode())
            self._counters["replies"] += 1
        except Exception as e:
            log.warning("reply to %s not sent: %s", msg.reply, e)

    def _publish(self, subject, payload):
        self.bus.publish(subject, payload)

    # -- shutdown -------------------------------------------------------------------------------

    def _unsubscribe(self, sub):
        try:
            sub.unsubscribe()
        except Exception as e:
            log.debug("unsubscribe failed: %s", e)

    def _stop_subscription(self, sub, deadline):
        """Unsubscribe once the messages already queued for ``sub`` were handed to ``dispatch``.

        Between the idle check and the unsubscribe nothing yields, so no
        message the bus accepted for us is discarded.
        """
        while sub.pending and time.monotonic() < deadline:
            sub.wait_idle(max(0.0, deadline - time.monotonic()))
        self._unsubscribe(sub)

    def _shutdown(self, timeout):
        deadline = time.monotonic() + timeout
        log.info("stopping: %d requests in flight", len(self._pool))
        was_connecting = self._phase == "connecting"
        self._phase = "stopping"
        for g in list(self._greenlets):
            if g is not gevent.getcurrent():
                g.kill(block=False)
        if not was_connecting and self.bus is not None:
            # Stop taking requests: no new deliveries once NATS has our UNSUBs.
            for sub in list(self._subs):
                self._stop_subscription(sub, deadline)
            self._flush_all(timeout=max(0.1, min(1.0, deadline - time.monotonic())))
        # Let every accepted request finish and answer (the bus stays open for the replies).
        self._pool.join(timeout=max(0.1, deadline - time.monotonic()))
        if len(self._pool):
            log.warning("stop: %d requests did not finish within %.1fs; answering them with an error",
                        len(self._pool), timeout)
            self._pool.kill()
        # Whoever still waits gets an answer now rather than their own timeout.
        for msg in list(self._held):
            self._counters["shutdown_abandoned"] += 1
            self._reply(msg, Response(error="server is shutting down: the request did not finish within "
                                      "shutdown_timeout (%.1fs); it may or may not have taken effect" % timeout
                                      ).encode())
        self._pool.close()
        self._accepting = False
        self._close_connections(drain=True)
        self._subs = []
        self._exact_subs = []
        self._phase = "stopped"
        self._ari_up = False
        if self.exit_status is None:
            self.exit_status = 0
        log.info("stopped")
        self._stopped.set()

    def _close_connections(self, drain=False):
        if self.http is not None:
            try:
                self.http.stop()
            except Exception as e:
                log.debug("closing the HTTP listener: %s", e)
        for bus in reversed(self._buses):   # the main one last: replies may still be on their way
            try:
                if drain:
                    bus.drain(timeout=2.0)
                else:
                    bus.close()
            except Exception as e:
                log.debug("closing NATS: %s", e)
                try:
                    bus.close()
                except Exception:
                    pass
        if self.event_stream is not None:
            try:
                self.event_stream.close()
            except Exception as e:
                log.debug("closing ARI events: %s", e)
        if self.ari is not None:
            close = getattr(self.ari, "close", None)
            if close is not None:
                try:
                    close()
                except Exception as e:
                    log.debug("closing ARI: %s", e)
