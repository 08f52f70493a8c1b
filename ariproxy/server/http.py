"""The server's optional HTTP listener: ``/health``, ``/health/ready`` and ``/metrics``.

Off by default; ``--http 127.0.0.1:9180`` (config ``http``, env
``ARIPROXY_HTTP``) or ``Server(http="127.0.0.1:9180")`` turns it on.  It is
a ``gevent.pywsgi`` server on the daemon's own loop: no thread, no process.

- ``GET /health``: 200 ``{"status": "ok", ...}`` while the process serves
  HTTP at all (liveness);
- ``GET /health/ready``: 200 when the server is serving and ARI REST, the
  ARI events websocket and NATS are all up, else 503; the JSON body names
  what is down, why, and since when (readiness);
- ``GET /metrics``: the Prometheus text format (see :mod:`.metrics`), when
  metrics are on; 404 otherwise.

Anything else is 404; methods other than GET/HEAD are 405.  A handler that
fails answers 500 and logs; it never takes the listener down.
"""
import logging

from gevent.pywsgi import WSGIServer

from ariproxy import errors, jsonutil
from ariproxy.server.health import readiness

__all__ = ["HTTPListener", "parse_address"]

log = logging.getLogger("ariproxy.server.http")


def parse_address(value):
    """``"HOST:PORT"``, ``"[v6]:PORT"``, ``":PORT"`` (all interfaces) or a ``(host, port)`` tuple -> tuple.

    Raises ``errors.ValidationError`` for anything else.
    """
    if isinstance(value, (tuple, list)) and len(value) == 2:
        host, port = value
    elif isinstance(value, str):
        text = value.strip()
        host, sep, port = text.rpartition(":")
        if not sep:
            raise errors.ValidationError("http: expected HOST:PORT (e.g. 127.0.0.1:9180), got %r" % value,
                                         parameter="http")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        host = host or "0.0.0.0"
    else:
        raise errors.ValidationError("http: expected HOST:PORT, got %r" % (value,), parameter="http")
    try:
        port = int(port)
    except (TypeError, ValueError):
        raise errors.ValidationError("http: bad port in %r" % (value,), parameter="http") from None
    if not 0 <= port <= 65535 or not host:
        raise errors.ValidationError("http: bad address %r" % (value,), parameter="http")
    return str(host), port


class _Log:
    """pywsgi's error log: one line per failure into our logger."""

    def write(self, text):
        text = text.strip()
        if text:
            log.warning("http: %s", text)

    def flush(self):
        pass


class HTTPListener:
    """``/health``, ``/health/ready`` and (``metrics=True``) ``/metrics`` of one server."""

    def __init__(self, server, address, metrics=True):
        self.server = server
        self.requested = parse_address(address)
        self.metrics = bool(metrics)
        self._registry = None
        if self.metrics:
            from ariproxy.server import metrics as metrics_mod
            self._registry = metrics_mod.registry_for(server)
            self._render = metrics_mod.render
            self._content_type = metrics_mod.CONTENT_TYPE
        self._wsgi = None

    @property
    def address(self):
        """The bound ``(host, port)`` (the real port when 0 was asked for); None before ``start``."""
        if self._wsgi is None:
            return None
        return self._wsgi.address[:2]

    @property
    def url(self):
        """``http://HOST:PORT`` of the listener (None before ``start``)."""
        addr = self.address
        if addr is None:
            return None
        host = "[%s]" % addr[0] if ":" in addr[0] else addr[0]
        return "http://%s:%d" % (host, addr[1])

    def start(self):
        """Bind and serve (in the background); raises OSError when the address cannot be bound."""
        self._wsgi = WSGIServer(self.requested, self._app, log=None, error_log=_Log())
        self._wsgi.start()
        log.info("HTTP listener on %s (/health, /health/ready%s)", self.url, ", /metrics" if self.metrics else "")
        return self

    def stop(self, timeout=1.0):
        """Stop listening; requests being answered get ``timeout`` seconds."""
        if self._wsgi is not None:
            wsgi, self._wsgi = self._wsgi, None
            wsgi.stop(timeout=timeout)

    # -- the WSGI application -------------------------------------------------------------------
    def _app(self, environ, start_response):
        path = environ.get("PATH_INFO") or "/"
        method = environ.get("REQUEST_METHOD", "GET")
        try:
            if path not in ("/health", "/health/", "/health/ready", "/metrics") or (
                    path == "/metrics" and not self.metrics):
                return self._json(start_response, "404 Not Found", {"error": "not found: %s" % path[:100]})
            if method not in ("GET", "HEAD"):
                return self._json(start_response, "405 Method Not Allowed", {"error": "use GET"},
                                  extra=[("Allow", "GET, HEAD")])
            if path == "/metrics":
                body = self._render(self._registry)
                start_response("200 OK", [("Content-Type", self._content_type), ("Content-Length", str(len(body)))])
                return [body]
            if path == "/health/ready":
                ready, body = readiness(self.server)
                return self._json(start_response, "200 OK" if ready else "503 Service Unavailable", body)
            srv = self.server
            return self._json(start_response, "200 OK", {"status": "ok", "state": srv.state, "node": srv.node,
                                                         "application": srv.application})
        except Exception:
            log.exception("http: %s %s failed", method, path[:100])
            return self._json(start_response, "500 Internal Server Error", {"error": "internal error"})

    @staticmethod
    def _json(start_response, status, obj, extra=()):
        body = jsonutil.dumps(obj) + b"\n"
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                                ("Cache-Control", "no-store")] + list(extra))
        return [body]
