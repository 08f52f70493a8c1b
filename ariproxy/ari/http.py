"""ARI REST over HTTP: keep-alive connections shared by every greenlet.

``HTTPTransport.send`` blocks the calling greenlet for the duration of one
HTTP exchange (at most connect_timeout + timeout).

Two HTTP clients, chosen with ``client``:

- ``requests`` (the default): a ``requests.Session`` with a connection pool
  sized for concurrent greenlets, basic auth, connect/read timeouts.
- ``native``: a small HTTP/1.1 client of our own for ``http://`` URLs (one
  ``send`` per request, a buffered reader, a pool of idle keep-alive
  connections).  ARI answers a loopback call in well under a millisecond and
  ``requests`` spends about 0.5 ms of Python on each one, so this roughly
  halves a proxied request over HTTP (bench/server.py prints both).
  ``https://`` always goes through ``requests`` (TLS, certificates).
"""
import base64
import logging
import re
import socket
from urllib.parse import quote, urlencode, urlsplit

import requests
from requests.adapters import HTTPAdapter

from ariproxy import errors, jsonutil
from ariproxy.ari.wsframes import send_all

__all__ = ["HTTPTransport", "HTTP_CLIENTS", "decode_answer"]

HTTP_CLIENTS = ("requests", "native")

log = logging.getLogger("ariproxy.ari.http")


def _message_of(body_bytes, reason):
    """Asterisk's error text from an error body (``{"message": ...}`` or ``{"error": ...}``), else the reason."""
    if body_bytes:
        try:
            doc = jsonutil.loads(body_bytes)
        except (ValueError, UnicodeDecodeError):
            doc = None
        if isinstance(doc, dict):
            for field in ("message", "error"):
                if isinstance(doc.get(field), str) and doc[field]:
                    return doc[field]
    return reason or "HTTP error"


def decode_answer(status, reason, content_type, body, binary, what):
    """Turn one ARI answer into the caller's value or raise the matching ``errors`` exception.

    ``body`` is bytes, a str of JSON, or None; shared by the HTTP and websocket transports so
    that both give identical results: 2xx JSON -> decoded, no body -> None,
    a binary operation -> bytes; >= 300 -> ``errors.error_for_status``.
    """
    if status >= 300:
        raise errors.error_for_status(status, _message_of(body, reason), reason)
    if not body:
        return None
    if binary:
        return bytes(body)
    if content_type and "json" not in content_type.lower():
        return bytes(body)
    try:
        return jsonutil.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise errors.ProtocolError("%s: answer %d is not JSON (%s)" % (what, status, e.__class__.__name__))


_MAX_HEAD = 64 * 1024
_RECV_SIZE = 64 * 1024
# Characters a request target may carry as they are (what requests' requote_uri leaves alone).
_NEEDS_QUOTING = re.compile(r"[^A-Za-z0-9\-._~!#$%&'()*+,/:;=@\[\]]")
_IDEMPOTENT = frozenset(("GET", "HEAD", "PUT", "DELETE", "OPTIONS"))


class _Stale(Exception):
    """A reused connection was closed by the peer before any byte of the answer arrived."""


class _Cut(Exception):
    """The answer's head came, its body did not (all of it)."""


class _Connection:
    """One keep-alive HTTP/1.1 connection (used by one greenlet at a time)."""

    __slots__ = ("sock", "buf", "timeout", "reused")

    def __init__(self, host, port, connect_timeout, timeout):
        self.sock = socket.create_connection((host, port), timeout=connect_timeout)
        try:
            # Head and body leave in one sendall; without this a delayed ACK can stall the next request.
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        self.sock.settimeout(timeout)
        self.timeout = timeout
        self.buf = bytearray()
        self.reused = False

    def alive(self):
        """False when the peer closed (or wrote to) this idle connection; one non-blocking peek."""
        sock = self.sock
        try:
            sock.settimeout(0.0)
            try:
                data = sock.recv(1, socket.MSG_PEEK)
            finally:
                sock.settimeout(self.timeout)
        except BlockingIOError:
            return True
        except OSError:
            return False
        return False    # EOF, or bytes nobody asked for

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def _more(self):
        data = self.sock.recv(_RECV_SIZE)
        if not data:
            raise ConnectionResetError("remote end closed connection")
        self.buf += data

    def _line(self):
        buf = self.buf
        while True:
            i = buf.find(b"\r\n")
            if i >= 0:
                line = bytes(buf[:i])
                del buf[:i + 2]
                return line
            if len(buf) > _MAX_HEAD:
                raise errors.ProtocolError("HTTP line over %d bytes" % _MAX_HEAD)
            self._more()

    def _exactly(self, n):
        buf = self.buf
        while len(buf) < n:
            self._more()
        data = bytes(buf[:n])
        del buf[:n]
        return data

    def exchange(self, request, method):
        """Send ``request`` (bytes), read the answer: ``(status, reason, headers, body, keep_alive)``."""
        sock = self.sock
        send_all(sock, request)
        buf = self.buf
        while True:
            # the head: status line and headers, up to the empty line
            while True:
                end = buf.find(b"\r\n\r\n")
                if end >= 0:
                    break
                if len(buf) > _MAX_HEAD:
                    raise errors.ProtocolError("HTTP answer head over %d bytes" % _MAX_HEAD)
                data = sock.recv(_RECV_SIZE)
                if not data:
                    if not buf and self.reused:
                        raise _Stale()
                    raise ConnectionResetError("remote end closed connection")
                buf += data
            head = bytes(buf[:end]).decode("latin-1")
            del buf[:end + 4]
            lines = head.split("\r\n")
            parts = lines[0].split(" ", 2)
            if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
                raise errors.ProtocolError("not an HTTP answer: %r" % lines[0][:80])
            status = int(parts[1])
            if 100 <= status < 200:
                continue        # 100 Continue and friends: the real answer follows
            break
        version = parts[0]
        reason = parts[2] if len(parts) > 2 else ""
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        connection = headers.get("connection", "").lower()
        if version == "HTTP/1.1":
            keep_alive = "close" not in connection
        else:
            keep_alive = "keep-alive" in connection
        try:
            body, keep_alive = self._body(method, status, headers, keep_alive)
        except OSError as e:
            raise _Cut("HTTP %d answer cut partway through its body (%s)" % (status, _short_reason(e))) from None
        return status, reason, headers, body, keep_alive

    def _body(self, method, status, headers, keep_alive):
        sock = self.sock
        buf = self.buf
        if method == "HEAD" or status in (204, 304):
            body = b""
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            chunks = []
            while True:
                size_line = self._line().split(b";", 1)[0].strip()
                try:
                    size = int(size_line, 16)
                except ValueError:
                    raise errors.ProtocolError("bad chunk size %r" % size_line[:20]) from None
                if size == 0:
                    while self._line():     # trailers, up to the empty line
                        pass
                    break
                chunks.append(self._exactly(size))
                self._exactly(2)
            body = b"".join(chunks)
        elif "content-length" in headers:
            try:
                length = int(headers["content-length"])
            except ValueError:
                raise errors.ProtocolError("bad Content-Length %r" % headers["content-length"][:20]) from None
            body = self._exactly(length)
        else:
            # no length: the body runs to the end of the connection
            while True:
                data = sock.recv(_RECV_SIZE)
                if not data:
                    break
                buf += data
            body = bytes(buf)
            del buf[:]
            keep_alive = False
        if buf:
            keep_alive = False      # bytes past the answer: this connection is out of step
        return body, keep_alive


class HTTPTransport:
    """Sends PreparedRequests to ``base_url`` (which ends in ``/ari``) over HTTP."""

    name = "http"

    def __init__(self, base_url, username, password, timeout=5.0, connect_timeout=2.0, pool_size=100,
                 client="requests"):
        if client not in HTTP_CLIENTS:
            raise errors.ValidationError("http_client must be one of %s, got %r" % ("|".join(HTTP_CLIENTS), client),
                                         parameter="http_client")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.pool_size = pool_size
        self.requests_sent = 0
        parts = urlsplit(self.base_url)
        self._own = parts.scheme == "http" and client == "native"
        self.client = "native" if self._own else "requests"
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 80
        self._path_prefix = parts.path
        self._idle = []         # idle keep-alive connections, most recently used last
        head = ["Host: %s" % parts.netloc, "Accept: application/json", "Accept-Encoding: identity",
                "User-Agent: ariproxy", "Connection: keep-alive"]
        if username is not None:
            token = base64.b64encode(("%s:%s" % (username, password or "")).encode("utf-8")).decode("ascii")
            head.append("Authorization: Basic " + token)
        self._head = ("\r\n".join(head) + "\r\n").encode("latin-1")
        self.session = None
        if not self._own:
            self.session = requests.Session()
            self.session.auth = (username, password) if username is not None else None
            # Non-blocking pool: a burst beyond pool_size opens extra connections
            # rather than making greenlets wait on the pool with no timeout.
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0, pool_block=False)
            self.session.mount("http://", adapter)
            self.session.mount("https://", adapter)
            self.session.headers["Accept"] = "application/json"
            # No proxy/netrc lookups from the environment: ARI is a direct link.
            self.session.trust_env = False

    def url_for(self, path, query=None):
        """The URL (no credentials) of a path below the base, for messages."""
        url = self.base_url + path
        if query:
            url += "?" + urlencode(query)
        return url

    def send(self, prepared, timeout=None):
        """Perform the request; returns the decoded answer, raises ``errors`` exceptions. Blocks."""
        method, path = prepared.method, prepared.path
        what = "%s %s" % (method, path)
        data = None
        if prepared.body is not None:
            data = jsonutil.dumps(prepared.body)
        read_timeout = self.timeout if timeout is None else timeout
        self.requests_sent += 1
        if self._own:
            status, reason, content_type, content = self._send_own(method, path, prepared.query, data,
                                                                   read_timeout, what)
        else:
            status, reason, content_type, content = self._send_requests(method, path, prepared.query, data,
                                                                        read_timeout, what)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s -> %d %s", what, status, reason)
        return decode_answer(status, reason, content_type, content, prepared.binary, what)

    # -- our HTTP/1.1 client (http://) -------------------------------------------------------------

    def _request_bytes(self, method, path, query, data):
        target = self._path_prefix + path
        if _NEEDS_QUOTING.search(target):
            target = quote(target, safe="!#$%&'()*+,/:;=@[]~")
        if query:
            target += "?" + urlencode(query)
        out = b"%s %s HTTP/1.1\r\n%s" % (method.encode("ascii"), target.encode("ascii"), self._head)
        if data is not None:
            return out + b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(data) + data
        if method not in ("GET", "HEAD"):
            return out + b"Content-Length: 0\r\n\r\n"
        return out + b"\r\n"

    def _connection(self, what):
        idle = self._idle
        while idle:
            conn = idle.pop()
            # Asterisk may have closed it (idle timeout, restart): look before using it, as urllib3 does.
            if conn.alive():
                conn.reused = True
                return conn
            conn.close()
        try:
            return _Connection(self._host, self._port, self.connect_timeout, self.timeout)
        except socket.timeout:
            raise errors.ARIConnectionError("%s: cannot connect to ARI at %s (connect timeout %.1fs)"
                                            % (what, self.base_url, self.connect_timeout)) from None
        except OSError as e:
            raise errors.ARIConnectionError("%s: cannot reach ARI at %s (%s)"
                                            % (what, self.base_url, _short_reason(e))) from None

    def _send_own(self, method, path, query, data, read_timeout, what):
        request = self._request_bytes(method, path, query, data)
        for attempt in (1, 2):
            conn = self._connection(what)
            if conn.timeout != read_timeout:
                conn.sock.settimeout(read_timeout)
                conn.timeout = read_timeout
            try:
                status, reason, headers, body, keep_alive = conn.exchange(request, method)
            except _Stale:
                conn.close()
                if attempt == 1 and method in _IDEMPOTENT:
                    continue        # Asterisk closed it while idle; a fresh connection will do
                raise errors.ARIConnectionError("%s: cannot reach ARI at %s (remote end closed connection)"
                                                % (what, self.base_url)) from None
            except socket.timeout:
                conn.close()
                raise errors.Timeout("%s: no answer from ARI within %.1fs" % (what, read_timeout)) from None
            except _Cut as e:
                conn.close()
                raise errors.ARIAnswerCut("%s: %s" % (what, e)) from None
            except errors.ProtocolError as e:
                conn.close()
                raise errors.ARIConnectionError("%s: HTTP failure talking to ARI (%s)" % (what, e)) from None
            except OSError as e:
                conn.close()
                raise errors.ARIConnectionError("%s: cannot reach ARI at %s (%s)"
                                                % (what, self.base_url, _short_reason(e))) from None
            except BaseException:
                conn.close()        # killed mid-exchange: the connection is out of step
                raise
            if keep_alive and len(self._idle) < self.pool_size:
                if conn.timeout != self.timeout:
                    conn.sock.settimeout(self.timeout)
                    conn.timeout = self.timeout
                self._idle.append(conn)
            else:
                conn.close()
            return status, reason, headers.get("content-type"), body
        raise AssertionError("unreachable")

    # -- requests (https://) ---------------------------------------------------------------------

    def _send_requests(self, method, path, query, data, read_timeout, what):
        headers = {"Content-Type": "application/json"} if data is not None else None
        try:
            resp = self.session.request(method, self.base_url + path, params=query or None,
                                        data=data, headers=headers,
                                        timeout=(self.connect_timeout, read_timeout), allow_redirects=False)
        except requests.exceptions.ConnectTimeout:
            raise errors.ARIConnectionError("%s: cannot connect to ARI at %s (connect timeout %.1fs)"
                                            % (what, self.base_url, self.connect_timeout)) from None
        except requests.exceptions.Timeout:
            raise errors.Timeout("%s: no answer from ARI within %.1fs" % (what, read_timeout)) from None
        except requests.exceptions.ChunkedEncodingError as e:
            # the status line and headers came, the body stopped partway (requests reads it after them)
            raise errors.ARIAnswerCut("%s: ARI's answer was cut partway through its body (%s)"
                                      % (what, _short_reason(e))) from None
        except requests.exceptions.ConnectionError as e:
            raise errors.ARIConnectionError("%s: cannot reach ARI at %s (%s)"
                                            % (what, self.base_url, _short_reason(e))) from None
        except requests.exceptions.RequestException as e:
            raise errors.ARIConnectionError("%s: HTTP failure talking to ARI (%s)"
                                            % (what, e.__class__.__name__)) from None
        return resp.status_code, resp.reason or "", resp.headers.get("Content-Type"), resp.content

    def reap_idle(self):
        """Close the idle keep-alive connections Asterisk has closed (its ``session_keep_alive``), so no
        socket lingers in CLOSE-WAIT until it would next be used; returns how many.  Never blocks."""
        closed = 0
        if self._own:
            keep = []
            for conn in self._idle:
                if conn.alive():
                    keep.append(conn)
                else:
                    conn.close()
                    closed += 1
            self._idle[:] = keep
            return closed
        if self.session is None:
            return 0
        from urllib3.util.connection import is_connection_dropped
        for adapter in set(self.session.adapters.values()):
            manager = getattr(adapter, "poolmanager", None)
            container = getattr(manager, "pools", None)
            if container is None:
                continue
            for pool_key in list(container.keys()):
                pool = container.get(pool_key)
                idle = getattr(getattr(pool, "pool", None), "queue", None)    # urllib3's LifoQueue of idle ones
                for conn in list(idle or ()):
                    if conn is not None and getattr(conn, "sock", None) is not None and is_connection_dropped(conn):
                        conn.close()        # stays pooled; it reconnects when next used
                        closed += 1
        return closed

    def close(self):
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
        if self.session is not None:
            self.session.close()


def _short_reason(exc):
    """A credential-free one-line reason for a requests connection error."""
    text = str(exc).lower()
    for marker in ("connection refused", "connection reset", "name or service not known",
                   "remote end closed connection", "connection aborted", "no route to host",
                   "temporary failure in name resolution", "broken pipe"):
        if marker in text:
            return marker
    return exc.__class__.__name__
