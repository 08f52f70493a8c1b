"""``ARI``: the native ARI connection (REST calls and the events websocket).

REST calls block the calling greenlet until Asterisk answers (or the
timeout); many greenlets may call at once.  Calls go over the events
websocket when Asterisk supports REST requests there (``rest_transport``
``auto``/``websocket``) and that websocket is up, else over HTTP.
"""
import base64
import logging
from urllib.parse import urlsplit, urlunsplit, unquote

from ariproxy import errors
from ariproxy.ari.http import HTTPTransport
from ariproxy.ari.operations import OPERATIONS, PreparedRequest, operation_for
from ariproxy.ari.versions import websocket_rest_supported
from ariproxy.jsonutil import mask_url

__all__ = ["ARI", "REST_TRANSPORTS", "websocket_rest_supported"]

log = logging.getLogger("ariproxy.ari")

REST_TRANSPORTS = ("auto", "websocket", "http")

def _split_credentials(url):
    """(url without userinfo, username, password) for a URL that may carry ``user:pass@``."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None, None
    userinfo, host = parts.netloc.rsplit("@", 1)
    user, _, password = userinfo.partition(":")
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment)), unquote(user), unquote(password)


def _default_ws_url(base_url):
    parts = urlsplit(base_url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + "/events", "", ""))


class ARI:
    """One Asterisk's ARI: REST calls by operation and the events websocket.

    ``url`` is the ARI base (``http://127.0.0.1:8088/ari``); ``ws_url``
    defaults to its ``/events`` websocket.  Credentials may also be given in
    the URL (``http://user:pass@host:8088/ari``); they never appear in logs,
    reprs or exception texts.  ``http_client`` picks the client for REST over
    HTTP: ``requests`` (default) or ``native`` (ariproxy's own keep-alive
    HTTP/1.1 client for ``http://``, about 0.5 ms less per call).
    """

    def __init__(self, url="http://127.0.0.1:8088/ari", username="asterisk", password="asterisk", app=None,
                 timeout=5.0, connect_timeout=2.0, pool_size=100, rest_transport="auto", ws_url=None,
                 reconnect_wait=(0.05, 2.0), http_client="requests"):
        if rest_transport not in REST_TRANSPORTS:
            raise errors.ValidationError("rest_transport must be one of %s, got %r"
                                         % ("|".join(REST_TRANSPORTS), rest_transport), parameter="rest_transport")
        url, url_user, url_password = _split_credentials(url.rstrip("/"))
        if url_user:
            username, password = url_user, url_password
        self.url = url
        self.ws_url = _split_credentials(ws_url)[0] if ws_url else _default_ws_url(url)
        self.username = username
        self._password = password
        self.app = app
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.rest_transport = rest_transport
        self.reconnect_wait = reconnect_wait
        self.http = HTTPTransport(url, username, password, timeout=timeout,
                                  connect_timeout=connect_timeout, pool_size=pool_size, client=http_client)
        # The websocket REST carrier (a WebSocketRequests of the live events stream), when usable.
        self._ws_rest = None
        self._ws_rest_stream = None
        self._streams = []

    def __repr__(self):
        return "<ARI %s app=%s rest=%s>" % (mask_url(self.url), self.app, self.active_rest_transport)

    # -- REST ---------------------------------------------------------------------------------------

    def call(self, resource, nickname, /, **params):
        """Call one ARI operation by resource and nickname; blocks until Asterisk answers.

        Returns the decoded JSON (dict/list), None for an empty answer, bytes
        for a file.  Raises ``errors.ValidationError`` before sending for a bad
        parameter, ``errors.ARIError`` subclasses for Asterisk's errors (404 ->
        ``NotFound`` ...), ``errors.ARIConnectionError`` or ``errors.Timeout``.
        ``_timeout`` (seconds) overrides the read timeout of this one call.
        """
        op = OPERATIONS.get((resource, nickname))
        if op is None:
            raise errors.ValidationError("unknown ARI operation %s.%s" % (resource, nickname), parameter=None)
        timeout = params.pop("_timeout", None)
        return self.send(op.prepare(params), timeout=timeout)

    @property
    def can_start(self):
        """True while ``start_call`` can send (REST goes over a usable events websocket)."""
        ws_rest = self._ws_rest
        return ws_rest is not None and ws_rest.usable

    def start_call(self, resource, nickname, params, on_done, timeout=None):
        """Send one ARI operation over the events websocket without waiting; never blocks.

        ``on_done(value, exc)`` runs once, later, with what ``call`` would
        return or raise (see ``WebSocketRequests.start``: from the websocket
        reader greenlet, so it must not block for long).  Returns False,
        having sent nothing, when the call cannot go that way (no usable
        websocket, a file answer, the socket just went): use ``call``.
        Raises ``errors.ValidationError`` before sending, like ``call``.
        """
        ws_rest = self._ws_rest
        if ws_rest is None or not ws_rest.usable:
            return False
        op = OPERATIONS.get((resource, nickname))
        if op is None:
            raise errors.ValidationError("unknown ARI operation %s.%s" % (resource, nickname), parameter=None)
        if op.binary:
            return False
        if "_timeout" in params:
            params = dict(params)
            timeout = params.pop("_timeout")
        return ws_rest.start(op.prepare(params), on_done, timeout=timeout)

    def request(self, method, path, query=None, body=None, binary=False, timeout=None):
        """Low level: any method and path below the base URL (path already escaped), query dict or pairs."""
        if not path.startswith("/"):
            path = "/" + path
        if isinstance(query, dict):
            query = [(k, v) for k, v in query.items() if v is not None]
        pairs = []
        for name, value in query or ():
            if isinstance(value, (list, tuple)):
                value = ",".join(str(v) for v in value)
            elif isinstance(value, bool):
                value = "true" if value else "false"
            pairs.append((name, str(value)))
        if not binary:
            # A file answer cannot come over the websocket: recognise the operation by its path.
            match = operation_for(method, unquote(path.split("?", 1)[0]))
            binary = bool(match and match[0].binary)
        return self.send(PreparedRequest(method.upper(), path, pairs, body, binary), timeout=timeout)

    def send(self, prepared, timeout=None):
        """Send a PreparedRequest over the websocket when usable, else HTTP. Blocks."""
        ws_rest = self._ws_rest
        if ws_rest is not None and not prepared.binary and ws_rest.usable:
            result = ws_rest.send(prepared, timeout=timeout)
            if result is not ws_rest.NOT_SENT:
                return result
        return self.http.send(prepared, timeout=timeout)

    @property
    def active_rest_transport(self):
        """``websocket`` or ``http``: where the next REST call goes."""
        ws_rest = self._ws_rest
        return "websocket" if ws_rest is not None and ws_rest.usable else "http"

    @property
    def transport_stats(self):
        """Counts of requests sent per transport (for tests and benchmarks)."""
        ws = sum(s.ws_requests_sent for s in self._streams)
        return {"http": self.http.requests_sent, "websocket": ws}

    def info(self, **params):
        """``GET /asterisk/info`` (``asterisk.getInfo``)."""
        return self.call("asterisk", "getInfo", **params)

    # -- events -------------------------------------------------------------------------------------

    def events(self, on_event, on_connect=None, on_disconnect=None, subscribe_all=False, app=None,
               start=True, **options):
        """Open the events websocket for ``app`` (default: this ARI's app); returns the EventStream.

        Returns at once; the stream connects and reconnects in the background.
        The stream also carries REST calls when ``rest_transport`` allows.
        ``options`` go to EventStream (on_gap, ping_interval, pong_timeout, max_backlog, rcvbuf,
        probe_timeout, reconnect_wait).
        """
        from ariproxy.ari.events import EventStream

        app = app or self.app
        if not app:
            raise errors.ValidationError("an ARI application name is needed for the events websocket",
                                         parameter="app")
        options.setdefault("reconnect_wait", self.reconnect_wait)
        stream = EventStream(self, app, on_event, on_connect=on_connect, on_disconnect=on_disconnect,
                             subscribe_all=subscribe_all, **options)
        self._streams.append(stream)
        if start:
            stream.start()
        return stream

    # -- what an events stream asks of and reports to its owner (EventStream's ``owner``) -------------

    def websocket_headers(self):
        """The headers an events websocket opens with (Basic authorization; never logged)."""
        if self.username is None:
            return []
        token = base64.b64encode(("%s:%s" % (self.username, self._password)).encode("utf-8"))
        return ["Authorization: Basic " + token.decode("ascii")]

    def asterisk_version(self):
        """Asterisk's version string asked over HTTP (``asterisk.getInfo``), None when it does not say.

        Raises ``errors.AriProxyError`` subclasses when Asterisk cannot be asked.
        """
        info = self.http.send(OPERATIONS[("asterisk", "getInfo")].prepare({"only": "system"}))
        version = ((info or {}).get("system") or {}).get("version") if isinstance(info, dict) else None
        return version if isinstance(version, str) else None

    def rest_carrier_changed(self, stream, carrier):
        """``stream``'s websocket can now carry REST (``carrier``: its WebSocketRequests) or no longer (None)."""
        if carrier is not None:
            self._ws_rest, self._ws_rest_stream = carrier, stream
        elif self._ws_rest_stream is stream:
            self._ws_rest, self._ws_rest_stream = None, None

    def stream_closed(self, stream):
        """``stream`` was closed for good (``EventStream.close``)."""
        if stream in self._streams:
            self._streams.remove(stream)

    def close(self):
        """Close every events stream and the HTTP pool."""
        for stream in list(self._streams):
            stream.close()
        self.http.close()
