"""The simulator's HTTP + WebSocket server and its fault controls.

``Simulator.start()`` returns once the listening socket is bound; requests are
served by gevent's pywsgi in greenlets.  ``/ari/events`` upgrades to a
websocket (``websocket.WebSocket``) whose text frames may carry ARI
``RESTRequest`` messages, answered by ``RESTResponse`` events from the same
handlers as HTTP.  Fault controls live outside ``/ari`` under ``/_sim/`` (no
auth, any method, JSON answers):

- ``/_sim/drop``: cut every events websocket (no close frame);
- ``/_sim/refuse?seconds=S``: close the listening socket for S seconds (websockets dropped);
- ``/_sim/restart?entity_id=ID``: a fresh Asterisk (state gone, websockets closed);
- ``/_sim/delay?ms=N``: delay every ARI answer by N ms (0 to stop, which releases waiting answers);
- ``/_sim/fail?n=N``: the next N ARI requests answer 500;
- ``/_sim/burst?n=N&app=NAME&rate=R``: N ChannelUserevent events (``seq`` 0..N-1) as fast as possible, or
  R events/s (a real Asterisk's dialplan loop gives about 9,000-10,000/s);
- ``/_sim/write_timeout?ms=N``: Asterisk's ``websocket_write_timeout`` for every websocket (default 100;
  0: wait forever);
- ``/_sim/silence?app=NAME&close=true``: put the events websockets (of app NAME) in the state a write timeout
  leaves them in: nothing more is sent, the TCP connection stays open until the peer next sends something
  (``close=false``: not even then, as a hung Asterisk);
- ``/_sim/state``: entity id, channels, bridges, applications, events sent;
- the far end of a call: ``/_sim/dtmf?channel=ID&digits=123&at=S&between=S&duration=MS`` (or
  ``&times=S1,S2,S3``), ``/_sim/speak?channel=ID&seconds=S&at=S``, ``/_sim/hangup?channel=ID&cause=N&at=S``,
  ``/_sim/call?app=NAME&caller=NUM&exten=E&endpoint=PJSIP/x&channel_id=ID&ring_timeout=S`` (an incoming call;
  answers ``{"channel": ID}``).  Times are media seconds (scaled by media_scale).
"""
import base64
import logging
import re
import time
from urllib.parse import parse_qsl, unquote

import gevent
import gevent.event
from gevent import pywsgi, socket as gsocket

from ariproxy import jsonutil

from . import handlers as _handlers
from .model import Asterisk, Fault, now_stamp
from .routes import ROUTES
from .websocket import WebSocket, frame_text, handshake_response

log = logging.getLogger(__name__)

REASONS = {
    200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 400: "Bad Request", 401: "Unauthorized",
    403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 409: "Conflict",
    422: "Unprocessable Entity", 426: "Upgrade Required", 500: "Internal Server Error",
    501: "Not Implemented", 503: "Service Unavailable",
}
_STD_HEADERS = [("Cache-Control", "no-cache, no-store")]
_HTML = ('<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\r\n<html><head>\r\n<title>%d %s</title>\r\n'
         '</head><body>\r\n<h1>%s</h1>\r\n<p>%s</p>\r\n<hr />\r\n<address>Asterisk/%s</address>\r\n'
         '</body></html>\r\n')
# Asterisk 20.14, 21.9, 22.4 and later accept REST requests over the events websocket
_REST_OVER_WS = {20: (14, 0), 21: (9, 0), 22: (4, 0)}


def supports_rest_over_ws(version):
    """True when an Asterisk of this version answers RESTRequest messages."""
    m = re.match(r"(\d+)\.(\d+)\.(\d+)", version or "")
    if not m:
        return False
    major, minor, patch = (int(x) for x in m.groups())
    if major > 22:
        return True
    need = _REST_OVER_WS.get(major)
    return need is not None and (minor, patch) >= need


class _Route:
    __slots__ = ("method", "template", "resource", "nickname", "params", "pattern", "names")

    def __init__(self, method, template, resource, nickname, _response, params):
        self.method = method
        self.template = template
        self.resource = resource
        self.nickname = nickname
        self.params = params
        self.names = re.findall(r"{(\w+)}", template)
        self.pattern = re.compile("^" + re.sub(r"{(\w+)}", r"(?P<\1>[^/]+)", template) + "$")


def _build_routes():
    by_template = {}
    for row in ROUTES:
        r = _Route(*row)
        by_template.setdefault(r.template, {})[r.method] = r
    # literal segments win over path parameters (e.g. /channels/create over /channels/{channelId})
    ordered = sorted(by_template.items(), key=lambda kv: (kv[0].count("{"), -len(kv[0])))
    return [(routes[next(iter(routes))].pattern, routes) for _t, routes in ordered]


ROUTE_TABLE = _build_routes()


def match_route(path):
    """(methods dict, path params) for an ARI path below /ari, or (None, None)."""
    for pattern, methods in ROUTE_TABLE:
        m = pattern.match(path)
        if m:
            return methods, {k: unquote(v) for k, v in m.groupdict().items()}
    return None, None


def api_docs(name, base_path):
    """The api-docs listing (``resources.json``) or one resource's operations, from the route table.

    Only the machine-readable parts (paths, methods, nicknames, parameters); no models.
    """
    resources = []
    for row in ROUTES:
        if row[2] not in resources:
            resources.append(row[2])
    if name == "resources.json":
        return {"apiVersion": "10.0.0", "swaggerVersion": "1.1", "basePath": base_path,
                "apis": [{"path": "/api-docs/%s.{format}" % r} for r in resources]}
    resource = name[:-5] if name.endswith(".json") else None
    if resource not in resources:
        raise Fault(404, "Resource not found")
    apis = []
    for method, template, res, nickname, response, params in ROUTES:
        if res != resource:
            continue
        if not apis or apis[-1]["path"] != template:
            apis.append({"path": template, "operations": []})
        apis[-1]["operations"].append({
            "httpMethod": method, "nickname": nickname, "responseClass": response,
            "parameters": [{"name": n, "paramType": where, "required": req, "dataType": dt, "allowMultiple": multi}
                           for n, where, req, dt, multi in params]})
    return {"apiVersion": "10.0.0", "swaggerVersion": "1.1", "basePath": base_path,
            "resourcePath": "/api-docs/%s.{format}" % resource, "apis": apis}


class Reply:
    """One REST answer before it is put on HTTP or in a RESTResponse."""

    __slots__ = ("status", "reason", "body", "headers")

    def __init__(self, status, body=None, reason=None, headers=()):
        self.status = status
        self.reason = reason or REASONS.get(status, "Unknown")
        self.body = body            # bytes (already encoded) or None
        self.headers = list(headers)

    @property
    def content_type(self):
        for k, v in self.headers:
            if k.lower() == "content-type":
                return v
        return "application/json" if self.body is not None else None


class _Handler(pywsgi.WSGIHandler):
    """pywsgi handler that takes the socket over for ``/ari/events`` websocket upgrades."""

    def handle(self):
        # pywsgi writes headers and body separately: without TCP_NODELAY, Nagle plus delayed
        # ACKs add ~40 ms to every keep-alive answer.
        try:
            self.socket.setsockopt(gsocket.IPPROTO_TCP, gsocket.TCP_NODELAY, 1)
        except OSError:
            pass
        super().handle()

    def read_requestline(self):
        # Asterisk closes a keep-alive connection idle for session_keep_alive (http.conf, 15 s by default)
        idle = self.server.sim.http_keep_alive
        if not idle:
            return super().read_requestline()
        self.socket.settimeout(idle)
        try:
            return super().read_requestline()
        finally:
            self.socket.settimeout(None)

    def _write_with_headers(self, data):
        # pywsgi sends the head and the body in two system calls; one is measurably faster
        # (this relies on pywsgi internals that have been stable for years: finalize_headers,
        # status and response_headers as latin-1 bytes)
        if not data or self.response_use_chunked:
            return super()._write_with_headers(data)
        self.headers_sent = True
        self.finalize_headers()
        out = bytearray(b"HTTP/1.1 ")
        out += self.status
        out += b"\r\n"
        for header, value in self.response_headers:
            out += header
            out += b": "
            out += value
            out += b"\r\n"
        out += b"\r\n"
        out += data
        self._sendall(out)

    def get_environ(self):
        env = super().get_environ()
        # PATH_INFO is percent-decoded as latin-1; routing splits the raw path first, then decodes
        # each segment as UTF-8 (so an id containing %2F or non-ASCII text survives)
        env["ariproxy.raw_path"] = self.path.split("?", 1)[0]
        return env

    def run_application(self):
        sim = self.server.sim
        env = self.environ
        if env.get("HTTP_UPGRADE", "").lower() == "websocket" and env.get("PATH_INFO") == "/ari/events":
            error = sim._websocket_precheck(env)
            if error is None:
                key = env.get("HTTP_SEC_WEBSOCKET_KEY", "")
                self.socket.sendall(handshake_response(key))
                self.close_connection = True
                self.status = "101 Switching Protocols"
                self.response_length = 0
                self.headers_sent = True
                sim._serve_websocket(self.socket, self.rfile, env)
                return
        super().run_application()


class Simulator:
    """A simulated Asterisk with ARI over HTTP and WebSocket on loopback (see ARCHITECTURE.md)."""

    def __init__(self, host="127.0.0.1", port=0, entity_id="02:fc:00:00:00:01", username="asterisk",
                 password="asterisk", version="22.10.1", playback_duration=0.05, media_scale=1.0,
                 endpoints=None, users=None, websocket_write_timeout=100, http_keep_alive=15.0):
        """``users``: more ARI users, ``{name: (password, read_only)}``; ``endpoints``: ``[(tech, resource)]``
        offered under /endpoints; ``media_scale`` multiplies media lengths and timers (0.01 = 100x faster);
        ``websocket_write_timeout``: milliseconds a websocket frame may take to be written before the socket
        is given up, as Asterisk's ari.conf option (default 100, as Asterisk's; 0 or None: no limit);
        ``http_keep_alive``: seconds an idle keep-alive HTTP connection is kept before the simulator closes
        it, as Asterisk's http.conf ``session_keep_alive`` (default 15; 0 or None: never)."""
        self.websocket_write_timeout = websocket_write_timeout
        self.http_keep_alive = http_keep_alive
        self.host = host
        self.port = port
        self.entity_id = entity_id
        self.version = version
        self.users = dict(users or {})
        self.users[username] = (password, False)
        self.playback_duration = playback_duration
        self.media_scale = media_scale
        self.endpoints = list(endpoints or ())
        self.requests = []
        self.max_logged_requests = 10000
        self.sockets = []
        self.ws_messages_received = 0
        self.websocket_drops = 0      # events dropped by websockets write-closed by the write timeout
        self._server = None
        self._delay = 0.0
        self._delay_changed = gevent.event.Event()    # replaced and set by each set_delay
        self._answers_next = []       # (status, body bytes or None, content type) for the next requests
        self._reopen = None
        self.asterisk = self._new_asterisk()

    def _new_asterisk(self):
        return Asterisk(self.entity_id, self.version, media_scale=self.media_scale,
                        default_sound_seconds=self.playback_duration, endpoints=self.endpoints)

    # -------------------------------------------------------------- lifecycle
    def start(self):
        """Bind and serve in the background; returns at once."""
        listener = gsocket.socket(gsocket.AF_INET, gsocket.SOCK_STREAM)
        listener.setsockopt(gsocket.SOL_SOCKET, gsocket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen(512)
        self.port = listener.getsockname()[1]
        self._server = pywsgi.WSGIServer(listener, self._wsgi, handler_class=_Handler, log=None,
                                         error_log=logging.getLogger(__name__ + ".http"))
        self._server.sim = self
        self._server.start()
        return self

    def stop(self):
        """Close every socket and stop serving."""
        if self._reopen is not None:
            self._reopen.kill(block=False)
            self._reopen = None
        self.asterisk.close()
        self.drop_websockets()
        if self._server is not None:
            self._server.stop(timeout=1)
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self):
        return "http://%s:%d/ari" % (self.host, self.port)

    @property
    def ws_url(self):
        return "ws://%s:%d/ari/events" % (self.host, self.port)

    @property
    def base_url(self):
        return "http://%s:%d" % (self.host, self.port)

    # state for assertions
    channels = property(lambda self: {k: c.model() for k, c in self.asterisk.channels.items()})
    bridges = property(lambda self: {k: b.model() for k, b in self.asterisk.bridges.items()})
    playbacks = property(lambda self: {k: p.model() for k, p in self.asterisk.playbacks.items()})
    live_recordings = property(lambda self: {k: r.model() for k, r in self.asterisk.live_recordings.items()})
    stored_recordings = property(lambda self: {k: dict(r) for k, r in self.asterisk.stored_recordings.items()})
    global_vars = property(lambda self: self.asterisk.global_vars)
    device_states = property(lambda self: dict(self.asterisk.device_states))
    mailboxes = property(lambda self: {k: dict(m) for k, m in self.asterisk.mailboxes.items()})
    applications = property(lambda self: {k: a.model() for k, a in self.asterisk.apps.items()})
    events_sent = property(lambda self: self.asterisk.events_sent)

    # -------------------------------------------------------------- things that happen on their own
    def emit_event(self, event_type, fields, app=None, channels=(), bridges=(), endpoints=(), devices=()):
        """Send any event, e.g. one the simulated calls never produce (``app``: to that app only;
        otherwise to subscribers of the given entity ids and to subscribe-all apps)."""
        self.asterisk.emit(event_type, dict(fields), channels=channels, bridges=bridges, devices=devices,
                           endpoints=endpoints, apps=[app] if app else None)

    def set_endpoint_state(self, tech, resource, state):
        """Change (or add) an endpoint's state (``online``, ``offline``, ...): EndpointStateChange."""
        ast = self.asterisk
        if (tech, resource) not in ast.endpoints:
            ast.add_endpoint(tech, resource, state)
            self.endpoints.append((tech, resource))
        ep = ast.endpoints[(tech, resource)]
        ep["state"] = state
        ast.emit("EndpointStateChange", {"endpoint": dict(ep, channel_ids=list(ep["channel_ids"]))},
                 endpoints=("%s/%s" % (tech, resource),))

    def receive_text_message(self, tech, resource, sender, body, variables=None):
        """An endpoint receives a MESSAGE: TextMessageReceived to its subscribers."""
        ast = self.asterisk
        ep = ast.endpoints.get((tech, resource))
        message = {"from": sender, "to": "%s:%s" % (tech.lower(), resource), "body": body}
        if variables:
            message["variables"] = dict(variables)
        fields = {"message": message}
        if ep is not None:
            fields["endpoint"] = dict(ep, channel_ids=list(ep["channel_ids"]))
        ast.emit("TextMessageReceived", fields, endpoints=("%s/%s" % (tech, resource),))

    # -------------------------------------------------------------- the far end of calls (scripted callers)
    def _chan(self, channel_id):
        chan = self.asterisk.channels.get(channel_id)
        if chan is None:
            raise ValueError("no channel %r" % (channel_id,))
        return chan

    def send_dtmf(self, channel_id, digits, at=0.0, between=0.25, duration_ms=100, times=None):
        """The caller on ``channel_id`` presses ``digits``: the first ``at`` seconds from now, then one every
        ``between`` seconds (or at the offsets ``times``, one per digit).  Media seconds (scaled by
        media_scale).  A live recording of the channel ends on its ``terminate_on`` key.  Returns the offsets."""
        return self.asterisk.inject_dtmf(self._chan(channel_id), digits, at=at, between=between,
                                         duration_ms=duration_ms, times=times)

    def speak(self, channel_id, seconds, at=0.0):
        """The caller on ``channel_id`` talks for ``seconds`` from ``at`` (media seconds): a recording's
        silence detection (``max_silence``) counts silence only outside it."""
        self.asterisk.speak(self._chan(channel_id), seconds, at=at)

    def hangup(self, channel_id, cause=16, at=0.0):
        """The far end hangs up ``channel_id`` with ``cause``, ``at`` media seconds from now."""
        self.asterisk.remote_hangup(self._chan(channel_id), int(cause), at=at)

    def incoming_call(self, app, caller="", exten="s", context="from-external", endpoint="PJSIP/caller",
                      channel_id=None, args=(), ring_timeout=None):
        """Place a call from outside into Stasis ``app``: the channel rings (state Ring) until the
        application answers it; ``ring_timeout`` media seconds: the caller gives up.  Returns its id."""
        return self.asterisk.incoming_call(app, caller=caller, exten=exten, context=context, endpoint=endpoint,
                                           channel_id=channel_id, args=args, ring_timeout=ring_timeout).id

    # -------------------------------------------------------------- faults
    def drop_websockets(self):
        """Cut every events websocket at once (no close frame)."""
        if self.sockets:
            log.info("simulator: dropping %d websocket(s)", len(self.sockets))
        for ws in list(self.sockets):
            ws.close(abrupt=True)
        return len(self.sockets)

    def set_write_timeout(self, ms):
        """Change ``websocket_write_timeout`` (milliseconds; 0 or None: no limit), open websockets included."""
        self.websocket_write_timeout = float(ms) if ms else 0
        for ws in list(self.sockets):
            ws.write_timeout = self._write_timeout_seconds()
        log.info("simulator: websocket write timeout %s", "%d ms" % ms if ms else "off")

    def _write_timeout_seconds(self):
        ms = self.websocket_write_timeout
        return float(ms) / 1000.0 if ms else None

    def silence_websockets(self, app=None, close_on_read=True):
        """What a write timeout does, at once: the events websockets (those serving ``app``, or all) send
        nothing more and drop what they are given, with no close frame and the TCP connection left open
        until the peer next sends something (``close_on_read=False``: a hung Asterisk that never closes it,
        so only the peer's own deadline can tell).  Returns how many sockets."""
        count = 0
        for ws in list(self.sockets):
            if app is None or app in ws.apps:
                if not ws.write_failed:
                    ws.close_on_read = close_on_read
                    ws.silence("silenced by the simulator's fault control")
                    count += 1
        return count

    @property
    def websocket_dropped(self):
        """Frames dropped by write-closed websockets (open ones and those already gone)."""
        return self.websocket_drops + sum(ws.dropped_frames for ws in self.sockets)

    def refuse_connections(self, seconds=None, drop=True):
        """Close the listening socket (connections are refused) for ``seconds``, then listen again.

        ``seconds=None``: until :meth:`accept_connections` (what tests that must
        see the outage last through several steps use, whatever the machine's load).
        """
        if self._server is None:
            return
        if seconds is None:
            log.info("simulator: refusing connections until told to accept")
        else:
            log.info("simulator: refusing connections for %.2fs", seconds)
        if drop:
            self.drop_websockets()
        self._server.stop(timeout=0.5)
        self._server = None
        if seconds is not None:
            self._reopen = gevent.spawn_later(seconds, self.accept_connections)

    def accept_connections(self):
        """Listen again (same port) after :meth:`refuse_connections`; a no-op while listening."""
        if self._reopen is not None and self._reopen is not gevent.getcurrent():
            self._reopen.kill(block=False)
        self._reopen = None
        if self._server is None:
            self.start()

    def restart(self, entity_id=None):
        """A fresh Asterisk: all state gone, websockets closed, optionally a new entity id."""
        self.asterisk.close()
        if entity_id:
            self.entity_id = entity_id
        log.info("simulator: restart as entity %s", self.entity_id)
        self.drop_websockets()
        self.asterisk = self._new_asterisk()

    def set_delay(self, ms):
        """Delay every ARI answer (HTTP and websocket) by ``ms`` milliseconds.

        Applies to answers already waiting too: lowering it (``set_delay(0)``) releases
        them, so a long delay can hold requests in flight for exactly as long as a test needs.
        """
        self._delay = max(0.0, float(ms) / 1000.0)
        changed, self._delay_changed = self._delay_changed, gevent.event.Event()
        changed.set()
        log.info("simulator: answers delayed by %d ms", self._delay * 1000)

    def _wait_delay(self, started):
        """Block the answering greenlet until ``started`` + the current delay."""
        while True:
            remaining = started + self._delay - time.monotonic()
            if remaining <= 0:
                return
            self._delay_changed.wait(remaining)

    def fail_next(self, n):
        """The next ``n`` ARI requests answer 500 (in place of any answers queued by ``answer_next``)."""
        self._answers_next = []
        self.answer_next(500, jsonutil.dumps({"message": "Internal Server Error"}), n=n)
        log.info("simulator: the next %d request(s) fail with 500", int(n))

    def answer_next(self, status, body=None, content_type="application/json", n=1):
        """The next ``n`` ARI requests get this answer whatever they ask: any status (even one Asterisk
        never sends) and any body (bytes or text, not necessarily JSON, or None: no body), as a
        misbehaving Asterisk or something in front of it might."""
        if isinstance(body, str):
            body = body.encode("utf-8")
        self._answers_next.extend([(int(status), body, content_type)] * int(n))

    def send_raw(self, payload, app=None):
        """Send ``payload`` (text or bytes, not necessarily JSON or even UTF-8) as one text frame on the
        events websocket of ``app`` (every app's when None), as a misbehaving Asterisk might.
        Returns the sockets it was queued on."""
        if isinstance(payload, str):
            payload = payload.encode("utf-8", "surrogatepass")
        sent = 0
        for target in list(self.asterisk.apps.values()):
            if target.socket is not None and (app is None or target.name == app):
                if target.socket.send_framed([frame_text(payload)], 1):
                    sent += 1
        return sent

    def burst(self, n, app=None, rate=None):
        """Send ``n`` ChannelUserevent events (``userevent.seq`` "0" to n-1) to ``app``'s socket (every app's
        when None): as fast as possible, or ``rate`` events/s.  Blocks until they are queued (a paced burst
        takes n/rate seconds); returns the events handed to sockets that were not write-closed."""
        ast = self.asterisk
        targets = [a for a in ast.apps.values() if a.socket is not None and (app is None or a.name == app)]
        sent = 0
        stamp = now_stamp()
        chunk = 2000
        if rate:
            chunk = max(1, min(chunk, int(rate / 200)))     # 5 ms worth at a time
        made = []
        for target in targets:
            prefix = ('{"type":"ChannelUserevent","timestamp":"%s","eventname":"Burst","userevent":{"eventname":"Burst",'
                      '"seq":"' % stamp).encode()
            suffix = ('"},"asterisk_id":"%s","application":%s}' % (ast.entity_id, target.name_json.decode())).encode()
            made.append((target, prefix, suffix))
        began = time.monotonic()
        for start in range(0, n, chunk):
            stop = min(n, start + chunk)
            for target, prefix, suffix in made:
                if target.socket is None:
                    continue
                frames = [frame_text(prefix + str(i).encode() + suffix) for i in range(start, stop)]
                if target.socket.send_framed(frames, len(frames)):
                    sent += len(frames)
            if rate:
                gevent.sleep(max(0.0, began + stop / float(rate) - time.monotonic()))
            else:
                gevent.sleep(0)
        ast.events_sent += sent
        return sent

    # -------------------------------------------------------------- websocket
    def _auth(self, env, query):
        """None when the credentials are good, else the 401 Reply."""
        user = password = None
        header = env.get("HTTP_AUTHORIZATION", "")
        if header.lower().startswith("basic "):
            try:
                user, _, password = base64.b64decode(header[6:].strip()).decode("utf-8").partition(":")
            except Exception:
                user = None
        elif "api_key" in query:
            user, _, password = query["api_key"].partition(":")
        entry = self.users.get(user)
        if user is None or entry is None or entry[0] != password:
            return Reply(401, jsonutil.dumps({"message": "Authentication required"}),
                         headers=[("WWW-Authenticate", 'Basic realm="Asterisk REST Interface"')])
        if entry[1] and env.get("REQUEST_METHOD", "GET") not in ("GET", "OPTIONS"):
            return Reply(403, jsonutil.dumps({"message": "Write access denied"}))
        return None

    def _websocket_precheck(self, env):
        query = dict(parse_qsl(env.get("QUERY_STRING", ""), keep_blank_values=True))
        if self._auth(env, query) is not None:
            return "auth"
        if not query.get("app"):
            return "app"
        return None

    def _serve_websocket(self, sock, rfile, env):
        pairs = parse_qsl(env.get("QUERY_STRING", ""), keep_blank_values=True)
        names = []
        for k, v in pairs:
            if k == "app":
                names.extend(n for n in v.split(",") if n and n not in names)
        subscribe_all = dict(pairs).get("subscribeAll", "false").lower() in ("true", "yes", "1", "on")
        ast = self.asterisk
        peer = "%s:%s" % (env.get("REMOTE_ADDR"), env.get("REMOTE_PORT"))
        ws = WebSocket(sock, rfile, on_text=self._on_ws_text, peer=peer, write_timeout=self._write_timeout_seconds())
        ws.asterisk = ast
        ws.apps = names
        ws.rest_checked_version = ws.rest_supported = None
        self.sockets.append(ws)
        for name in names:
            ast.register_app(name, ws, subscribe_all)
        try:
            ws.run()
        finally:
            if ws in self.sockets:
                self.sockets.remove(ws)
                self.websocket_drops += ws.dropped_frames
            ws.asterisk.unregister_socket(ws)

    def _on_ws_text(self, ws, text):
        self.ws_messages_received += 1
        ast = ws.asterisk
        if ast is not self.asterisk or ast.closed:
            return
        if ws.rest_checked_version != ast.version:  # (parsing the version costs more than the rest of this check)
            ws.rest_checked_version = ast.version
            ws.rest_supported = supports_rest_over_ws(ast.version)
        if not ws.rest_supported:
            # an older Asterisk reads nothing from the events socket
            return
        if self._delay:
            # the answer waits for the delay: its own greenlet, so the socket's other requests go on
            gevent.spawn(self._rest_over_ws, ws, ast, text)
        else:
            # nothing in an answer blocks: answer on the reader greenlet (no greenlet per request);
            # the reader sends the answers of everything it read in one go
            self._rest_over_ws(ws, ast, text)

    def _rest_over_ws(self, ws, ast, text):
        try:
            self._rest_over_ws_unguarded(ws, ast, text)
        except Exception:
            # a message nobody planned for: say so on the socket rather than leave the requester waiting
            log.exception("RESTRequest over the websocket failed")
            ws.send(jsonutil.dumps({"type": "RESTResponse", "transaction_id": "", "request_id": "", "status_code": 500,
                                    "reason_phrase": "Internal Server Error", "uri": "",
                                    "application": ws.apps[0] if ws.apps else "", "timestamp": now_stamp(),
                                    "asterisk_id": ast.entity_id}))

    def _rest_over_ws_unguarded(self, ws, ast, text):
        app = ws.apps[0] if ws.apps else ""
        fields = {"type": "RESTResponse", "transaction_id": "", "request_id": ""}

        def answer(status, reason, uri, body=None, content_type="application/json"):
            fields.update({"status_code": status, "reason_phrase": reason, "uri": uri})
            if body is not None:
                fields["content_type"] = content_type
                fields["message_body"] = body
            fields.update({"application": app, "timestamp": now_stamp(), "asterisk_id": ast.entity_id})
            ws.send(jsonutil.dumps(fields))

        def bad(message, uri=""):
            answer(400, "Bad request", uri, jsonutil.dumps({"message": message}).decode())

        try:
            msg = jsonutil.loads(text)
        except Exception:
            fields.update({"status_code": 400, "reason_phrase": "Failed to parse request message JSON", "uri": "",
                           "application": app, "timestamp": now_stamp(), "asterisk_id": ast.entity_id})
            ws.send(jsonutil.dumps(fields))
            return
        if not isinstance(msg, dict):
            return bad("No 'type' property.")
        fields["transaction_id"] = str(msg.get("transaction_id") or "")
        fields["request_id"] = str(msg.get("request_id") or "")
        if "type" not in msg:
            return bad("No 'type' property.")
        if msg.get("type") != "RESTRequest":
            return bad("Unknown request type.")
        raw_uri = msg.get("uri") or ""
        method = msg.get("method")
        if not raw_uri or not isinstance(raw_uri, str):
            return bad("Empty or missing 'uri' property.")
        path, _, qs = raw_uri.partition("?")
        if method not in ("GET", "POST", "PUT", "DELETE"):
            return bad("Unknown or missing 'method' property.", path)
        query = parse_qsl(qs, keep_blank_values=True)
        for item in msg.get("query_strings") or ():
            if isinstance(item, dict) and "name" in item:
                query.append((str(item["name"]), "" if item.get("value") is None else str(item["value"])))
        body = msg.get("message_body")
        ctype = msg.get("content_type")
        if ctype is not None and not isinstance(ctype, str):
            ctype = str(ctype)
        if body is not None and not isinstance(body, str):
            body = jsonutil.dumps(body).decode()
        if body not in (None, "") and not ctype:
            return bad("No 'content_type' for 'message_body'.", path)
        if isinstance(body, str):
            body = body.encode("utf-8")
        if path.startswith("/"):
            reply = Reply(405, jsonutil.dumps({"message": "Invalid method"}))
        else:
            reply = self._ari(ast, method, "/" + path, query, body or b"", ctype or "", via="ws")
        if reply.body is None:
            answer(reply.status, reply.reason, path)
        else:
            data = reply.body
            answer(reply.status, reply.reason, path, data.decode("utf-8", "replace") if isinstance(data, bytes) else data,
                   reply.content_type)

    # -------------------------------------------------------------- ARI dispatch
    def _ari(self, ast, method, path, query_pairs, body, content_type, via="http"):
        """Run one ARI request (path below /ari) and return its Reply; never raises."""
        entry = {"method": method, "path": path, "query": query_pairs, "via": via, "time": time.time()}
        if len(self.requests) < self.max_logged_requests:
            self.requests.append(entry)
        if self._delay:
            self._wait_delay(time.monotonic())
        if self._answers_next:
            status, body, content_type = self._answers_next.pop(0)
            reply = Reply(status, body, headers=[("Content-Type", content_type)] if content_type else ())
        else:
            try:
                reply = self._dispatch(ast, method, path, query_pairs, body, content_type)
            except Fault as f:
                reply = Reply(f.status, jsonutil.dumps({f.key: f.message}), reason=f.reason)
            except _MethodNotAllowed as exc:
                allow = "OPTIONS," + ",".join(m for m in ("GET", "POST", "PUT", "DELETE") if m in exc.methods)
                reply = Reply(405, jsonutil.dumps({"message": "Invalid method"}), headers=[("Allow", allow)])
            except Exception:
                log.exception("simulator handler failed for %s %s", method, path)
                reply = Reply(500, jsonutil.dumps({"message": "Internal Server Error"}))
        entry["status"] = reply.status
        return reply

    def _dispatch(self, ast, method, path, query_pairs, body, content_type):
        if path.endswith("/") and len(path) > 1:
            raise Fault(404, "ARI URLs do not end with a slash. Try /ari%s" % path.rstrip("/"))
        if path.startswith("/api-docs/"):
            if method != "GET":
                raise _MethodNotAllowed({"GET": None})
            return Reply(200, jsonutil.dumps(api_docs(path[10:], self.base_url + "/ari")))
        methods, path_params = match_route(path)
        if methods is None:
            raise Fault(404, "Resource not found")
        route = methods.get(method)
        if route is None:
            raise _MethodNotAllowed(methods)
        params = {}
        multi = {p[0] for p in route.params if p[4]}
        for k, v in query_pairs:
            if k in params and k in multi:
                params[k] = params[k] + "," + v
            else:
                params[k] = v
        parsed = None
        if body:
            if content_type.startswith("application/x-www-form-urlencoded"):
                for k, v in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
                    params.setdefault(k, v)
            else:
                try:
                    parsed = jsonutil.loads(body)
                except Exception:
                    raise Fault(400, "Error parsing request body")
                if isinstance(parsed, dict):
                    for k, v in parsed.items():
                        if k in params or isinstance(v, dict):
                            continue
                        if isinstance(v, bool):
                            v = "true" if v else "false"
                        elif isinstance(v, list):
                            v = ",".join(str(x) for x in v)
                        params[k] = "" if v is None else str(v)
        handler = _handlers.HANDLERS.get((route.resource, route.nickname))
        if handler is None:
            raise Fault(501, "Not implemented")
        result = handler(ast, _handlers.Request(method, path_params, params, parsed))
        status, payload = result[0], result[1]
        headers = list(result[2]) if len(result) > 2 else []
        if payload is None:
            return Reply(status, None, headers=headers)
        if isinstance(payload, (bytes, bytearray)):
            return Reply(status, bytes(payload), headers=headers)
        return Reply(status, jsonutil.dumps(payload), headers=headers)

    # -------------------------------------------------------------- WSGI
    def _wsgi(self, env, start_response):
        path = env.get("ariproxy.raw_path") or env.get("PATH_INFO", "")
        method = env.get("REQUEST_METHOD", "GET")
        if path.startswith("/_sim/"):
            return self._control(env, start_response, path[6:])
        query_pairs = parse_qsl(env.get("QUERY_STRING", ""), keep_blank_values=True)
        query = dict(query_pairs)
        server_header = [("Server", "Asterisk/%s" % self.version)]
        if not path.startswith("/ari"):
            return self._respond(start_response, Reply(404, jsonutil.dumps({"message": "Not found"})), server_header)
        denied = self._auth(env, query)
        if denied is not None:
            return self._respond(start_response, denied, server_header)
        ari_path = path[4:] or "/"
        if ari_path == "/events" and method == "GET":
            if not query.get("app"):
                html = _HTML % (400, "Bad Request", "Bad Request", "HTTP request is missing param: [app]", self.version)
                return self._respond(start_response, Reply(400, html.encode(), headers=[("Content-Type", "text/html")]),
                                     server_header)
            html = _HTML % (426, "Upgrade Required", "Upgrade Required", "", self.version)
            return self._respond(start_response, Reply(426, html.encode(), headers=[("Content-Type", "text/html")]),
                                 server_header)
        if method == "OPTIONS":
            methods, _ = match_route(ari_path)
            allow = "OPTIONS," + ",".join(m for m in ("GET", "POST", "PUT", "DELETE") if methods and m in methods)
            return self._respond(start_response, Reply(204, headers=[("Allow", allow),
                                                                     ("Access-Control-Allow-Methods", allow)]),
                                 server_header)
        query_pairs = [(k, v) for k, v in query_pairs if k != "api_key"]
        try:
            length = int(env.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = env["wsgi.input"].read(length) if length > 0 else b""
        reply = self._ari(self.asterisk, method, ari_path, query_pairs, body, env.get("CONTENT_TYPE") or "")
        return self._respond(start_response, reply, server_header)

    def _respond(self, start_response, reply, extra=()):
        headers = list(extra) + list(_STD_HEADERS) + reply.headers
        body = reply.body or b""
        if reply.body is not None and not any(k.lower() == "content-type" for k, _ in reply.headers):
            headers.append(("Content-type", "application/json"))
        headers.append(("Content-Length", str(len(body))))
        start_response("%d %s" % (reply.status, reply.reason), headers)
        return [body]

    def _control(self, env, start_response, action):
        query = dict(parse_qsl(env.get("QUERY_STRING", ""), keep_blank_values=True))
        result = {"ok": True}
        try:
            if action == "drop":
                result["dropped"] = self.drop_websockets()
            elif action == "refuse":
                seconds = float(query.get("seconds", "1"))
                start_response("200 OK", [("Content-Type", "application/json")])
                gevent.spawn_later(0.05, self.refuse_connections, seconds)
                return [jsonutil.dumps(result)]
            elif action == "restart":
                self.restart(query.get("entity_id") or None)
                result["entity_id"] = self.entity_id
            elif action == "delay":
                self.set_delay(float(query.get("ms", "0")))
            elif action == "fail":
                self.fail_next(int(query.get("n", "1")))
            elif action == "burst":
                rate = float(query["rate"]) if query.get("rate") else None
                result["sent"] = self.burst(int(query.get("n", "1000")), query.get("app") or None, rate=rate)
            elif action == "write_timeout":
                self.set_write_timeout(float(query.get("ms", "100")))
                result["ms"] = self.websocket_write_timeout
            elif action == "silence":
                result["silenced"] = self.silence_websockets(
                    query.get("app") or None, close_on_read=query.get("close", "true").lower() not in ("0", "false", "no"))
            elif action == "dtmf":
                times = query.get("times")
                result["times"] = self.send_dtmf(
                    query.get("channel", ""), query.get("digits", ""), at=float(query.get("at", "0")),
                    between=float(query.get("between", "0.25")), duration_ms=int(query.get("duration", "100")),
                    times=[float(t) for t in times.split(",")] if times else None)
            elif action == "speak":
                self.speak(query.get("channel", ""), float(query.get("seconds", "1")), at=float(query.get("at", "0")))
            elif action == "hangup":
                self.hangup(query.get("channel", ""), int(query.get("cause", "16")), at=float(query.get("at", "0")))
            elif action == "call":
                if not query.get("app"):
                    raise ValueError("app is required")
                ring = query.get("ring_timeout")
                result["channel"] = self.incoming_call(
                    query["app"], caller=query.get("caller", ""), exten=query.get("exten", "s"),
                    context=query.get("context", "from-external"), endpoint=query.get("endpoint", "PJSIP/caller"),
                    channel_id=query.get("channel_id") or None,
                    args=[a for a in query.get("args", "").split(",") if a], ring_timeout=float(ring) if ring else None)
            elif action == "state":
                result.update({"entity_id": self.entity_id, "channels": self.channels, "bridges": self.bridges,
                               "applications": self.applications, "events_sent": self.events_sent,
                               "websocket_write_timeout": self.websocket_write_timeout,
                               "websocket_dropped": self.websocket_dropped,
                               "websockets": [{"peer": ws.peer, "apps": list(ws.apps), "write_failed": ws.write_failed,
                                               "dropped": ws.dropped_frames} for ws in self.sockets]})
            else:
                start_response("404 Not Found", [("Content-Type", "application/json")])
                return [jsonutil.dumps({"message": "unknown control " + action})]
        except ValueError as exc:
            start_response("400 Bad Request", [("Content-Type", "application/json")])
            return [jsonutil.dumps({"message": str(exc)})]
        start_response("200 OK", [("Content-Type", "application/json")])
        return [jsonutil.dumps(result)]


class _MethodNotAllowed(Exception):
    def __init__(self, methods):
        super().__init__("method not allowed")
        self.methods = methods
