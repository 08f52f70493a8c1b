"""ARI REST over HTTP: one ``requests.Session`` with a connection pool shared by every greenlet.

``HTTPTransport.send`` blocks the calling greenlet for the duration of one
HTTP exchange (at most connect_timeout + timeout).
"""
import logging
from urllib.parse import urlencode

import requests
from requests.adapters import HTTPAdapter

from ariproxy import errors, jsonutil

__all__ = ["HTTPTransport", "decode_answer"]

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

    ``body`` is bytes (or None); shared by the HTTP and websocket transports so
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


class HTTPTransport:
    """Sends PreparedRequests to ``base_url`` (which ends in ``/ari``) over HTTP."""

    name = "http"

    def __init__(self, base_url, username, password, timeout=5.0, connect_timeout=2.0, pool_size=100):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.session = requests.Session()
        self.session.auth = (username, password) if username is not None else None
        # Non-blocking pool: a burst beyond pool_size opens extra connections
        # rather than making greenlets wait on the pool with no timeout.
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0, pool_block=False)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["Accept"] = "application/json"
        # No proxy/netrc lookups from the environment: ARI is a direct link, and the
        # per-request environment scan costs more than the loopback round trip.
        self.session.trust_env = False
        self.requests_sent = 0

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
        headers = None
        if prepared.body is not None:
            data = jsonutil.dumps(prepared.body)
            headers = {"Content-Type": "application/json"}
        read_timeout = self.timeout if timeout is None else timeout
        self.requests_sent += 1
        try:
            resp = self.session.request(method, self.base_url + path, params=prepared.query or None,
                                        data=data, headers=headers,
                                        timeout=(self.connect_timeout, read_timeout), allow_redirects=False)
        except requests.exceptions.ConnectTimeout:
            raise errors.ARIConnectionError("%s: cannot connect to ARI at %s (connect timeout %.1fs)"
                                            % (what, self.base_url, self.connect_timeout)) from None
        except requests.exceptions.Timeout:
            raise errors.Timeout("%s: no answer from ARI within %.1fs" % (what, read_timeout)) from None
        except requests.exceptions.ConnectionError as e:
            raise errors.ARIConnectionError("%s: cannot reach ARI at %s (%s)"
                                            % (what, self.base_url, _short_reason(e))) from None
        except requests.exceptions.RequestException as e:
            raise errors.ARIConnectionError("%s: HTTP failure talking to ARI (%s)"
                                            % (what, e.__class__.__name__)) from None
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s -> %d %s", what, resp.status_code, resp.reason)
        return decode_answer(resp.status_code, resp.reason or "", resp.headers.get("Content-Type"),
                             resp.content, prepared.binary, what)

    def close(self):
        self.session.close()


def _short_reason(exc):
    """A credential-free one-line reason for a requests connection error."""
    text = str(exc)
    for marker in ("Connection refused", "Connection reset", "Name or service not known",
                   "Remote end closed connection", "Connection aborted", "No route to host",
                   "Temporary failure in name resolution"):
        if marker in text:
            return marker.lower()
    return exc.__class__.__name__
