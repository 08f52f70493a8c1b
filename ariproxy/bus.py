"""One NATS connection for gevent programs: subscriptions, request/reply, gather, reconnect, drain.

pynats2 0.9.0 is not safe under concurrency (its reader restarts on every
subscribe, ``-ERR`` kills it, it never reconnects), so this module uses it
only for what it does well: the URL parsing of its constructor, TLS wrapping
(``_connect_tls``) and the ``CONNECT`` line (``_send_connect_command``).  The
socket and the INFO line are ours too: pynats2's ``connect()`` spins forever
when the peer hangs up before INFO, and knows IPv4 only.  After CONNECT a
PING must get its PONG (or ``-ERR``): bad credentials fail ``connect()``.
The rest:

- ONE reader greenlet per socket parses ``MSG``/``PING``/``PONG``/``+OK``/
  ``-ERR``/``INFO`` with a bytes parser; it never runs user code.
- ONE writer greenlet per socket: ``publish`` appends its bytes to an output
  list and wakes the writer, which sends everything that accumulated in one
  ``sendall`` (10 concurrent requests cost one syscall, not 10).  Publishers
  block only when more than ``max(pending_buffer, 2 MiB)`` bytes wait unsent.
- Every subscription has a bounded deque and its own delivery greenlet.
  Overflow policy: the OLDEST queued message is dropped, counted
  (``stats["dropped"]`` and ``sub.dropped``) and logged once per burst.
  Callbacks of one subscription run one at a time, in order; a blocking
  callback delays only its own subscription.
- Requests share ONE wildcard inbox subscription (``_INBOX.<nuid>.*``); each
  request is a token in a dict of waiters.
- ``-ERR`` is logged, counted, passed to ``on_error``, fails the request it
  names (permissions) and the ``flush()`` it precedes; the reader goes on
  (when the server hangs up after it, the bus reconnects).
- Reconnect with backoff across the configured servers and those the server
  announces (``connect_urls``); subscriptions are re-sent with the same sids
  and queue groups; publishes while disconnected are buffered up to
  ``pending_buffer`` bytes; requests in flight fail at once with
  :class:`ConnectionLost`.

Requires gevent monkey patching (``gevent.monkey.patch_all()`` before
import): pynats2 opens its socket with the ``socket`` module.

Blocking calls (they block the calling greenlet only): :meth:`Bus.connect`,
:meth:`Bus.request`, :meth:`Bus.gather`, :meth:`Bus.flush`,
:meth:`Bus.drain`, :meth:`Bus.close` (up to 1 s, handing queued bytes to the
socket).  :meth:`Bus.publish` blocks only while the output is backed up (see
above).  ``subscribe``/``unsubscribe`` do not wait for the server (``flush()``
does).
"""
import collections
import itertools
import logging
import random
import re
import socket
import sys
import time
import types
import warnings
from urllib.parse import unquote, urlparse

import gevent
import gevent.event
from gevent import monkey

from ariproxy import errors, jsonutil


def _import_pynats2():
    """Import pynats2 even where setuptools (>= 82) no longer ships ``pkg_resources``.

    pynats2 0.9.0 imports ``pkg_resources`` only to call
    ``get_distribution("pynats2").version`` for its CONNECT line.  When that
    import fails, a stand-in answering just that from ``importlib.metadata``
    is visible in ``sys.modules`` while pynats2 is imported, and removed
    right after, so no other import mistakes it for setuptools' module.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # setuptools 67-81 warn that pkg_resources is deprecated
            import pkg_resources  # noqa: F401
    except ImportError:
        import importlib.metadata

        stand_in = types.ModuleType("pkg_resources")
        stand_in.__doc__ = "ariproxy.bus stand-in: get_distribution(name).version only, for pynats2."

        def get_distribution(name):
            return types.SimpleNamespace(project_name=name, version=importlib.metadata.version(name))

        stand_in.get_distribution = get_distribution
        sys.modules["pkg_resources"] = stand_in
        try:
            import pynats2.client
        finally:
            if sys.modules.get("pkg_resources") is stand_in:
                del sys.modules["pkg_resources"]
    import pynats2.client
    import pynats2.nuid
    return pynats2


pynats2 = _import_pynats2()

__all__ = [
    "Bus", "Msg", "Subscription", "BusError", "NotConnected", "ConnectFailed", "AuthorizationFailed",
    "ConnectionLost", "RequestTimeout", "PayloadTooLarge", "PendingBufferFull", "ServerError",
    "InvalidSubject", "BusClosed", "MAX_SUBJECT_BYTES", "check_reply_subject",
]

LOG = logging.getLogger("ariproxy.bus")

#: bytes of payload a subscription queues by default (nats-server cuts a client whose unread data
#: passes 64 MiB: what sits in our queues was read already, but it must not grow without bound either)
DEFAULT_MAX_PENDING_BYTES = 64 * 1024 * 1024

# -- exceptions ----------------------------------------------------------------


class BusError(errors.AriProxyError):
    """Base of every error of the NATS connection layer."""


class NotConnected(BusError):
    """No connection right now (not yet connected, reconnecting, or closed)."""


class ConnectFailed(NotConnected):
    """``connect()`` could not reach (or was refused by) any server."""


class AuthorizationFailed(ConnectFailed):
    """The server refused the credentials (never part of the message)."""


class BusClosed(NotConnected):
    """The bus was closed (or drained); it does not reconnect."""


class PendingBufferFull(NotConnected):
    """Disconnected, and the bytes buffered for the reconnect reached ``pending_buffer``."""


class ConnectionLost(BusError):
    """The connection dropped while this request (or flush) was in flight."""


class RequestTimeout(BusError, errors.Timeout):
    """No reply (or no PONG for a flush) within the timeout."""


class PayloadTooLarge(BusError, ValueError):
    """The payload exceeds the server's ``max_payload``; nothing was sent."""


class InvalidSubject(BusError, ValueError):
    """A subject (or queue group) that would break the protocol line (empty, whitespace, over
    ``MAX_SUBJECT_BYTES``), or a reply subject with a wildcard token."""


class ServerError(BusError):
    """A ``-ERR`` line from the server (``.text`` holds the server's words)."""

    def __init__(self, text):
        super().__init__("NATS server error: %s" % text)
        self.text = text


# -- messages and subscriptions ------------------------------------------------


class Msg:
    """A received message: ``.subject``, ``.reply`` (str or None), ``.data`` (bytes)."""

    __slots__ = ("subject", "reply", "data", "_bus")

    def __init__(self, subject, reply, data, bus=None):
        self.subject = subject
        self.reply = reply
        self.data = data
        self._bus = bus

    def respond(self, payload):
        """Publish ``payload`` to this message's reply subject."""
        if not self.reply:
            raise BusError("message on %r has no reply subject" % self.subject)
        self._bus.publish(self.reply, payload)

    def __repr__(self):
        return "<Msg %s reply=%s %d bytes>" % (self.subject, self.reply, len(self.data))


class Subscription:
    """A subscription with its bounded queue and delivery greenlet.

    The queue holds at most ``max_pending`` messages and ``max_pending_bytes``
    bytes of payload (one message bigger than that is still taken when the
    queue is empty).  ``dropped`` counts messages discarded by the overflow
    policy (oldest first), ``delivered`` messages handed to the callback,
    ``error`` the server's refusal (permissions) if any.  With
    ``on_overflow(msg)`` the NEWEST message is refused instead: the callback
    (run by the reader greenlet: it must not block) gets it, ``refused``
    counts them; a server answers ``busy`` from there.  A refused message of
    64 KiB or more comes without its payload (``data`` is ``b""``): the
    reader discards it unread, so refusing a flood costs no copying.
    """

    def __init__(self, bus, sid, subject, callback, queue=None, max_pending=10000,
                 max_pending_bytes=DEFAULT_MAX_PENDING_BYTES, on_overflow=None):
        self.sid = sid
        self.subject = subject
        self.queue = queue
        self.callback = callback
        self.max_pending = max_pending
        self.max_pending_bytes = max_pending_bytes
        self.on_overflow = on_overflow
        self.pending_bytes = 0
        self.refused = 0
        self.dropped = 0
        self.delivered = 0
        self.error = None
        self.closed = False
        self._bus = bus
        self._messages = collections.deque()
        self._wakeup = gevent.event.Event()
        self._idle = gevent.event.Event()
        self._idle.set()
        self._burst_dropped = 0
        self._greenlet = gevent.spawn(self._deliver)

    @property
    def pending(self):
        """Messages queued, not yet handed to the callback."""
        return len(self._messages)

    def refuses(self, size):
        """True if a message of ``size`` bytes arriving now would be refused (``on_overflow``)."""
        messages = self._messages
        return self.on_overflow is not None and (
            len(messages) >= self.max_pending or (self.pending_bytes + size > self.max_pending_bytes and messages))

    def _refuse(self, msg):
        """The newest is refused (e.g. answered "busy"); what is queued stays."""
        self.refused += 1
        try:
            self.on_overflow(msg)
        except Exception:
            LOG.exception("subscription %s: overflow callback failed", self.subject)

    def _enqueue(self, msg):
        """Called by the reader greenlet: never blocks."""
        messages = self._messages
        size = len(msg.data)
        if len(messages) >= self.max_pending or (self.pending_bytes + size > self.max_pending_bytes and messages):
            if self.on_overflow is not None:
                self._refuse(msg)
                return
            while messages and (len(messages) >= self.max_pending
                                or self.pending_bytes + size > self.max_pending_bytes):
                self.pending_bytes -= len(messages.popleft().data)
                self.dropped += 1
                self._bus._dropped += 1
                if not self._burst_dropped:
                    LOG.warning("subscription %s (sid %d): queue full (%d messages or %d bytes), dropping oldest "
                                "messages", self.subject, self.sid, self.max_pending, self.max_pending_bytes)
                self._burst_dropped += 1
        self.pending_bytes += size
        messages.append(msg)
        if not self._wakeup.is_set():
            self._wakeup.set()
        if self._idle.is_set():
            self._idle.clear()

    def _deliver(self):
        messages = self._messages
        while not self.closed:
            while messages:
                msg = messages.popleft()
                self.pending_bytes -= len(msg.data)
                try:
                    self.callback(msg)
                except Exception:
                    LOG.exception("subscription %s: callback failed on %r", self.subject, msg)
                self.delivered += 1
                if self.closed:
                    return
            if self._burst_dropped:
                LOG.warning("subscription %s (sid %d): queue drained after dropping %d messages",
                            self.subject, self.sid, self._burst_dropped)
                self._burst_dropped = 0
            self._wakeup.clear()
            self._idle.set()
            self._wakeup.wait()

    def wait_idle(self, timeout=None):
        """Block until the queue is empty and no callback runs; True if so within ``timeout``."""
        return self._idle.wait(timeout)

    def _stop(self):
        self.closed = True
        self._messages.clear()
        self.pending_bytes = 0
        self._wakeup.set()
        self._idle.set()

    def unsubscribe(self):
        """Stop receiving; queued messages not yet delivered are discarded."""
        self._bus.unsubscribe(self)

    def __repr__(self):
        return "<Subscription %d %s%s pending=%d dropped=%d>" % (
            self.sid, self.subject, " queue=%s" % self.queue if self.queue else "", self.pending, self.dropped)


class _Reply:
    """One request's waiter in the inbox dict."""

    __slots__ = ("result", "subject")

    def __init__(self, subject):
        self.result = gevent.event.AsyncResult()
        self.subject = subject

    def deliver(self, msg):
        self.result.set(msg)
        return True  # done: remove from the dict

    def fail(self, exc):
        self.result.set_exception(exc)


class _Gather:
    """A gather's collector.  The reader only appends; ``until`` (user code) runs in the gathering greenlet."""

    __slots__ = ("msgs", "done", "wake", "subject", "max_replies", "wake_each", "error")

    def __init__(self, subject, max_replies, wake_each):
        self.msgs = []
        self.error = None
        self.done = False
        self.wake = gevent.event.Event()
        self.subject = subject
        self.max_replies = max_replies
        self.wake_each = wake_each

    def deliver(self, msg):
        self.msgs.append(msg)
        if self.max_replies is not None and len(self.msgs) >= self.max_replies:
            self.done = True
            self.wake.set()
            return True
        if self.wake_each:
            self.wake.set()
        return False

    def fail(self, exc):
        self.done = True  # gather returns what came (or raises, see Bus.gather's raise_on_loss)
        self.error = exc
        self.wake.set()


# -- servers and connections ---------------------------------------------------

DEFAULT_PORT = 4222
DEFAULT_MAX_PAYLOAD = 1024 * 1024

DISCONNECTED = "disconnected"
CONNECTING = "connecting"
CONNECTED = "connected"
RECONNECTING = "reconnecting"
DRAINING = "draining"
CLOSED = "closed"

#: longest subject, reply subject or queue group (UTF-8 bytes) this bus sends: a PUB line carries two
#: of them, and nats-server cuts the connection on a protocol line over 4,096 bytes (max_control_line)
MAX_SUBJECT_BYTES = 1024

# the reader: bytes per recv(), and how long (seconds) or how many messages it reads before letting others run
_READ_SIZE = 256 * 1024
_YIELD_SECONDS = 0.02
_YIELD_MSGS = 256
# a message at least this big that its subscription would refuse (or that nobody subscribes to any more)
# is not read into memory: its payload is discarded in the kernel (MSG_TRUNC), so a reader answering a
# flood "busy" keeps up with any publisher instead of copying every byte it refuses
_SKIP_MIN = 64 * 1024
_MSG_TRUNC = getattr(socket, "MSG_TRUNC", 0)

_BAD_SUBJECT = re.compile(r"\s")
_WILDCARD_TOKEN = re.compile(r"(?:^|\.)[*>](?:\.|$)")


def _check_subject(subject, what="subject"):
    """Raise InvalidSubject unless ``subject`` can go on a protocol line as is."""
    if not subject or _BAD_SUBJECT.search(subject):
        raise InvalidSubject("invalid %s %r" % (what, _short(subject)))
    # at most 4 bytes per character: only long or non-ASCII ones need encoding to be measured
    if len(subject) > MAX_SUBJECT_BYTES // 4 or not subject.isascii():
        try:
            size = len(subject.encode("utf-8"))
        except UnicodeEncodeError:
            raise InvalidSubject("invalid %s %r (not encodable as UTF-8)" % (what, _short(subject))) from None
        if size > MAX_SUBJECT_BYTES:
            raise InvalidSubject("%s of %d bytes is too long (at most %d bytes: nats-server cuts connections on "
                                 "protocol lines over 4096 bytes): %r" % (what, size, MAX_SUBJECT_BYTES,
                                                                         _short(subject)))


def check_reply_subject(reply):
    """Raise InvalidSubject unless ``reply`` is a usable reply subject (no wildcard tokens, not too long)."""
    _check_subject(reply, "reply subject")
    if ("*" in reply or ">" in reply) and _WILDCARD_TOKEN.search(reply):
        raise InvalidSubject("reply subject %r has a wildcard token: replies go to one literal subject"
                             % _short(reply))


def _short(text, limit=80):
    """``text`` (a subject) cut to ``limit`` characters (for messages about huge subjects)."""
    text = str(text)
    return text if len(text) <= limit else "%s...(%d chars)" % (text[:limit], len(text))


_PUB_VIOLATION = re.compile(r'Permissions Violation for Publish to "([^"]*)"', re.I)
_SUB_VIOLATION = re.compile(r'Permissions Violation for Subscription to "([^"]*)"', re.I)
_AUTH_ERRORS = ("authorization violation", "authentication", "user authentication", "authorization")


class _Server:
    """One server address; ``url`` keeps credentials, ``display`` never does."""

    __slots__ = ("url", "address", "scheme", "host", "port", "discovered", "failures", "user", "password",
                 "userinfo")

    def __init__(self, url, discovered=False):
        scheme, _, rest = url.partition("://")
        # the userinfo ends at the LAST '@': a raw '@', ':' or '/' in a password is the password's
        userinfo, at, hostport = rest.rpartition("@")
        if scheme not in ("nats", "tls"):
            raise BusError("unsupported NATS URL scheme %r in %s" % (scheme, jsonutil.mask_url(url)))
        parsed = urlparse("//" + hostport)
        if not parsed.hostname:
            raise BusError("no host in NATS URL %s" % jsonutil.mask_url(url))
        try:
            port = parsed.port or DEFAULT_PORT
        except ValueError:
            raise BusError("bad port in NATS URL %s" % jsonutil.mask_url(url)) from None
        netloc = parsed.netloc if parsed.port else "%s:%d" % (parsed.netloc, port)
        self.userinfo = userinfo if at else None
        self.url = "%s://%s%s" % (scheme, userinfo + "@" if at else "", netloc)
        self.address = "%s://%s" % (scheme, netloc)  # for pynats2, which would misparse some passwords
        # percent-decoded (``%40`` is an '@'): user:password, or a token alone
        user, colon, password = userinfo.partition(":")
        self.user = unquote(user) if at and user else None
        self.password = unquote(password) if at and colon else None
        self.scheme = scheme
        self.host = parsed.hostname
        self.port = port
        self.discovered = discovered
        self.failures = 0

    @property
    def display(self):
        host = "[%s]" % self.host if ":" in self.host else self.host
        return "%s://%s:%d" % (self.scheme, host, self.port)

    @property
    def key(self):
        return (self.host, self.port)

    def sibling(self, hostport):
        """A server announced by this one (INFO connect_urls), with this one's scheme and credentials."""
        prefix = self.userinfo + "@" if self.userinfo is not None else ""
        return _Server("%s://%s%s" % (self.scheme, prefix, hostport), discovered=True)


def _parse_servers(servers):
    if isinstance(servers, str):
        servers = servers.split(",")
    result = []
    for url in servers:
        url = url.strip()
        if not url:
            continue
        if "://" not in url:
            if "/" in url:  # "nats:/u:p@host": a mistyped scheme, not a host name
                raise BusError("malformed NATS URL %s (expected nats://[user:password@]host[:port])"
                               % jsonutil.mask_url(url))
            url = "nats://" + url
        result.append(_Server(url))
    if not result:
        raise BusError("no NATS server URL given")
    return result


class _Connection:
    """One socket's state: reader/pinger greenlets and the PONG waiters."""

    __slots__ = ("sock", "server", "buf", "reader", "writer", "pinger", "pongs", "pings_out", "closed",
                 "info", "wake", "idle", "skip", "scratch")

    def __init__(self, sock, server, buf, info):
        self.sock = sock
        self.server = server
        self.buf = buf
        self.info = info
        self.reader = None
        self.writer = None
        self.wake = gevent.event.Event()  # set: the output list has bytes for the writer
        self.idle = gevent.event.Event()  # set: the writer has sent everything
        self.idle.set()
        self.pinger = None
        self.pongs = collections.deque()  # AsyncResult per flush PING, None per keep-alive PING
        self.pings_out = 0
        self.closed = False
        self.skip = 0          # bytes of a refused message still to be discarded from the socket
        self.scratch = None    # the buffer those are "read" into (nothing is copied there on Linux)


class _HandshakeError(Exception):
    def __init__(self, message, auth=False):
        super().__init__(message)
        self.auth = auth


def _user_call(func, *args):
    try:
        func(*args)
    except Exception:
        LOG.exception("bus callback %r failed", func)


# -- the bus -------------------------------------------------------------------


class Bus:
    """One NATS connection (see the module docstring for the threading model).

    ``servers``: URL string (comma separated) or list; ``nats://`` or
    ``tls://``, credentials as ``user:pass@`` or ``token@`` (never logged);
    the port defaults to 4222.  Servers announced by the cluster are added.
    ``connect_timeout`` bounds each server's TCP + TLS + CONNECT + PING/PONG.
    ``reconnect_wait=(first, cap)``: pause after a round of failed attempts,
    doubling up to ``cap``.  A connection that leaves ``max_pings_out``
    keep-alive PINGs (one per ``ping_interval`` s) unanswered is dropped and
    reconnected.  ``pending_buffer``: bytes of publishes kept while
    reconnecting.  TLS: the server certificate is verified unless
    ``tls_verify=False``; ``tls_cacert``/``tls_client_cert``/``tls_client_key``
    are file paths.

    ``on_connect(bus)`` and ``on_disconnect(bus)`` are called in their own
    greenlets after every (re)connect and every drop; ``on_error(bus, exc)``
    for every ``-ERR`` (a :class:`ServerError`).
    """

    def __init__(self, servers="nats://127.0.0.1:4222", name="ariproxy", connect_timeout=2.0,
                 reconnect=True, reconnect_wait=(0.05, 2.0), ping_interval=5.0, max_pings_out=2,
                 pending_buffer=8 * 1024 * 1024, on_connect=None, on_disconnect=None, on_error=None,
                 tls_verify=True, tls_cacert=None, tls_client_cert=None, tls_client_key=None, quiet=False):
        self._servers = _parse_servers(servers)
        self.name = name
        # quiet: the first connection and the close are logged at DEBUG (reconnects still at INFO)
        self._log_routine = LOG.debug if quiet else LOG.info
        self.connect_timeout = connect_timeout
        self.reconnect = reconnect
        self.reconnect_wait = reconnect_wait
        self.ping_interval = ping_interval
        self.max_pings_out = max_pings_out
        self.pending_buffer = pending_buffer
        self.on_connect = on_connect
        self.on_disconnect = on_disconnect
        self.on_error = on_error
        self._tls = dict(tls_verify=tls_verify, tls_cacert=tls_cacert,
                         tls_client_cert=tls_client_cert, tls_client_key=tls_client_key)

        self._state = DISCONNECTED
        self._conn = None
        self._max_payload = DEFAULT_MAX_PAYLOAD
        self._subs = {}
        self._sids = itertools.count(1)
        self._nuid = pynats2.nuid.NUID()
        self._inbox_base = "_INBOX." + self._nuid.next_().decode()
        self._reply_prefix = self._inbox_base + "."
        self._reply_prefix_b = self._reply_prefix.encode()
        self._reply_prefix_len = len(self._reply_prefix_b)
        self._inbox_sid = next(self._sids)
        self._tokens = itertools.count(1)
        self._requests = {}  # token (bytes) -> _Reply | _Gather
        self._out = []  # bytes waiting for the writer greenlet
        self._out_size = 0
        self._out_limit = max(pending_buffer, 2 * DEFAULT_MAX_PAYLOAD)
        self._out_space = gevent.event.Event()
        self._out_space.set()
        self._pending = []
        self._pending_bytes = 0
        self._reconnector = None
        self._connect_done = gevent.event.Event()
        self._last_error = None
        self._errors_seen = 0
        # counters (read through .stats)
        self._in_msgs = self._in_bytes = self._out_msgs = self._out_bytes = 0
        self._reconnects = self._dropped = self._errors = 0

    # -- properties ------------------------------------------------------
    @property
    def state(self):
        return self._state

    @property
    def connected(self):
        return self._state in (CONNECTED, DRAINING) and self._conn is not None and not self._conn.closed

    @property
    def max_payload(self):
        return self._max_payload

    @property
    def connected_url(self):
        """The current server's URL without credentials (None when disconnected)."""
        return self._conn.server.display if self.connected else None

    @property
    def servers(self):
        """Known server URLs (configured + announced), without credentials."""
        return [s.display for s in self._servers]

    @property
    def stats(self):
        return {
            "in_msgs": self._in_msgs, "out_msgs": self._out_msgs,
            "in_bytes": self._in_bytes, "out_bytes": self._out_bytes,
            "reconnects": self._reconnects, "dropped": self._dropped, "errors": self._errors,
            "pending_bytes": self._pending_bytes, "subscriptions": len(self._subs),
            "requests_in_flight": len(self._requests),
        }

    @property
    def last_error(self):
        """The last :class:`ServerError` the server sent (or None)."""
        return self._last_error

    def __repr__(self):
        return "<Bus %s %s %s>" % (self.name, self._state, self.connected_url or self.servers[0])

    def __enter__(self):
        if self._state == DISCONNECTED:
            self.connect()
        return self

    def __exit__(self, *exc):
        self.close()

    # -- connecting ------------------------------------------------------
    def connect(self):
        """Connect to the first server that accepts (in order); blocks; raises ConnectFailed."""
        if self._state == CLOSED:
            raise BusClosed("bus %s is closed" % self.name)
        if self._state == CONNECTING:  # another greenlet is connecting: wait for its outcome
            self._connect_done.wait()
            if not self.connected:
                raise NotConnected("bus %s: the concurrent connect() failed" % self.name)
            return
        if self._state != DISCONNECTED:
            return
        if not monkey.is_module_patched("socket"):
            raise BusError("ariproxy.bus needs gevent monkey patching: call "
                           "gevent.monkey.patch_all() before importing ariproxy")
        self._state = CONNECTING
        self._connect_done.clear()
        try:
            failures = []
            for server in list(self._servers):
                try:
                    conn = self._open(server)
                except _HandshakeError as e:
                    failures.append((server, e))
                    LOG.warning("NATS %s: %s", server.display, e)
                    continue
                self._start(conn, reconnected=False)
                if self._state == CLOSED:
                    raise BusClosed("bus %s was closed while connecting" % self.name)
                return
            self._state = DISCONNECTED
        except BaseException:
            if self._state == CONNECTING:
                self._state = DISCONNECTED
            raise
        finally:
            self._connect_done.set()
        text = "; ".join("%s: %s" % (s.display, e) for s, e in failures)
        if all(e.auth for _, e in failures):
            raise AuthorizationFailed("NATS authorization refused (%s)" % text)
        raise ConnectFailed("could not connect to NATS (%s)" % text)

    def _open(self, server):
        """Socket + INFO + TLS + CONNECT + PING/PONG; returns a _Connection. Raises _HandshakeError."""
        sock = None
        try:
            with gevent.Timeout(self.connect_timeout, _HandshakeError("timed out after %.1fs" % self.connect_timeout)):
                sock = socket.create_connection((server.host, server.port), timeout=self.connect_timeout)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                buf = bytearray()
                line, buf = self._read_line(sock, buf)
                if not line.startswith(b"INFO "):
                    raise _HandshakeError("expected INFO, got %r" % bytes(line[:40]))
                info = jsonutil.loads(bytes(line[5:]))
                tls = server.scheme == "tls"
                if info.get("tls_required", False) and not tls:
                    raise _HandshakeError("server requires TLS: use a tls:// URL")
                if tls and not info.get("tls_required", False) and not info.get("tls_available", False):
                    raise _HandshakeError("server does not offer TLS")
                hs = pynats2.client.NATSNoSubscribeClient(server.address, name=self.name, **self._tls)
                hs._conn_options["protocol"] = 1  # 1: the server sends INFO updates (cluster connect_urls)
                hs._conn_options["username"] = server.user
                hs._conn_options["password"] = server.password
                hs._socket = sock
                if tls:
                    hs._connect_tls()
                    sock = hs._socket
                    if buf:
                        raise _HandshakeError("unexpected bytes before the TLS handshake")
                hs._send_connect_command()
                sock.sendall(b"PING\r\n")
                while True:
                    line, buf = self._read_line(sock, buf)
                    if line == b"PONG":
                        break
                    if line.startswith(b"-ERR"):
                        text = _err_text(line)
                        raise _HandshakeError("server refused the connection: %s" % text,
                                              auth=text.lower().startswith(_AUTH_ERRORS))
                    if line.startswith(b"INFO "):
                        info = jsonutil.loads(bytes(line[5:]))
                    elif line == b"PING":
                        sock.sendall(b"PONG\r\n")
                    # +OK: ignored
            sock.settimeout(None)
            return _Connection(sock, server, buf, info)
        except (OSError, ValueError, pynats2.NATSError) as e:
            _close_quietly(sock)
            raise _HandshakeError("%s: %s" % (type(e).__name__, e)) from None
        except BaseException:  # _HandshakeError, or GreenletExit from close() during a reconnect
            _close_quietly(sock)
            raise

    @staticmethod
    def _read_line(sock, buf):
        while True:
            i = buf.find(b"\r\n")
            if i >= 0:
                return bytes(buf[:i]), buf[i + 2:]
            if len(buf) > 64 * 1024:
                raise _HandshakeError("protocol line too long")
            data = sock.recv(65536)
            if not data:
                raise _HandshakeError("connection closed by the server")
            buf += data

    def _start(self, conn, reconnected):
        """Install a handshaken connection: resubscribe, flush the pending buffer, start greenlets."""
        if self._state == CLOSED:  # close() was called while connecting
            _close_quietly(conn.sock)
            return
        self._conn = conn
        self._apply_info(conn, conn.info)
        lines = [("SUB %s.* %d\r\n" % (self._inbox_base, self._inbox_sid)).encode()]
        for sub in self._subs.values():
            lines.append(_sub_line(sub))
        try:
            # publishes made meanwhile go to the pending buffer (state is not CONNECTED yet)
            conn.sock.sendall(b"".join(lines))
            while self._pending:
                chunk = b"".join(self._pending)
                self._pending.clear()
                self._pending_bytes = 0
                conn.sock.sendall(chunk)
            # no yield between the last pending check and the state change: nothing is lost
            self._state = CONNECTED
        except OSError as e:
            LOG.warning("NATS %s: write failed right after connecting: %s", conn.server.display, e)
            self._lost(conn, e)
            return
        conn.writer = gevent.spawn(self._write_loop, conn)
        conn.reader = gevent.spawn(self._read_loop, conn)
        if self.ping_interval:
            conn.pinger = gevent.spawn(self._ping_loop, conn)
        (LOG.info if reconnected else self._log_routine)(
            "NATS %s connected to %s%s", self.name, conn.server.display, " (reconnected)" if reconnected else "")
        if self.on_connect:
            gevent.spawn(_user_call, self.on_connect, self)

    def _apply_info(self, conn, info):
        max_payload = info.get("max_payload")
        if max_payload:
            self._max_payload = int(max_payload)
        known = {s.key for s in self._servers}
        for hostport in info.get("connect_urls") or ():
            try:
                server = conn.server.sibling(hostport)
            except BusError:
                continue
            if server.key not in known:
                known.add(server.key)
                self._servers.append(server)
                LOG.info("NATS %s: server %s announced by %s", self.name, server.display, conn.server.display)

    # -- losing and regaining the connection -----------------------------
    def _lost(self, conn, exc):
        """The socket is unusable: fail what is in flight, then reconnect (or close)."""
        if conn.closed:
            return
        conn.closed = True
        _close_quietly(conn.sock)
        if conn.pinger is not None and conn.pinger is not gevent.getcurrent():
            conn.pinger.kill(block=False)
        conn.wake.set()  # the writer sees ``closed`` and ends
        lost = ConnectionLost("NATS connection to %s lost: %s" % (conn.server.display, exc))
        self._keep_unsent()
        self._fail_in_flight(conn, lost)
        if self._state == CLOSED:
            return
        LOG.warning("NATS %s: connection to %s lost: %s", self.name, conn.server.display, exc)
        if self.on_disconnect:
            gevent.spawn(_user_call, self.on_disconnect, self)
        if self.reconnect and self._state != DRAINING:
            self._state = RECONNECTING
            self._reconnector = gevent.spawn(self._reconnect_loop, conn.server)
        else:
            self._close_now()

    def _keep_unsent(self):
        """Publishes not yet handed to the socket go to the pending buffer (as far as it holds).

        Not PING/SUB/UNSUB (the reconnect re-sends subscriptions), and not
        requests: their callers were just told ConnectionLost and may retry,
        so replaying them could run a command twice.
        """
        marker = b" " + self._reply_prefix_b
        unsent = [data for data in self._out
                  if data.startswith(b"PUB ") and marker not in data[:data.find(b"\r\n")]]
        self._out.clear()
        self._out_size = 0
        self._out_space.set()
        for data in unsent:
            if self._pending_bytes + len(data) > self.pending_buffer:
                LOG.warning("NATS %s: pending buffer full, %d unsent publishes dropped", self.name, len(unsent))
                break
            self._pending.append(data)
            self._pending_bytes += len(data)

    def _fail_in_flight(self, conn, exc):
        requests, self._requests = self._requests, {}
        for entry in requests.values():
            entry.fail(exc)
        while conn.pongs:
            waiter = conn.pongs.popleft()
            if waiter is not None:
                waiter.set_exception(exc)

    def _reconnect_loop(self, last):
        low, cap = self.reconnect_wait
        wait = low
        # start after the server just lost, so a dead node is tried last
        start = (self._servers.index(last) + 1) if last in self._servers else 0
        while self._state == RECONNECTING:
            servers = self._servers[start:] + self._servers[:start]
            start = 0
            for server in servers:
                if self._state != RECONNECTING:
                    return
                try:
                    conn = self._open(server)
                except _HandshakeError as e:
                    server.failures += 1
                    LOG.debug("NATS %s: reconnect to %s failed: %s", self.name, server.display, e)
                    continue
                if self._state != RECONNECTING:
                    _close_quietly(conn.sock)
                    return
                server.failures = 0
                self._reconnects += 1
                self._start(conn, reconnected=True)
                return
            gevent.sleep(wait * (0.9 + random.random() * 0.2))
            wait = min(cap, wait * 2)

    # -- reading ---------------------------------------------------------
    def _read_loop(self, conn):
        sock = conn.sock
        buf = conn.buf
        conn.buf = None
        try:
            if buf:
                buf = self._process(conn, buf)
                if conn.skip:
                    self._discard(conn)
            monotonic = time.monotonic
            turn_started = monotonic()
            read_msgs = self._in_msgs
            while not conn.closed:
                data = sock.recv(_READ_SIZE)
                if not data:
                    raise ConnectionLost("closed by the server")
                if buf:
                    buf += data
                else:
                    buf = bytearray(data)
                buf = self._process(conn, buf)
                if conn.skip:
                    self._discard(conn)
                elif buf is not None and len(buf) >= _READ_SIZE:
                    # a big message half read: its rest straight into one buffer (no growing and copying)
                    buf, more = self._read_big(sock, buf)
                    if more:
                        buf = self._process(conn, buf)
                        if conn.skip:
                            self._discard(conn)
                if self._in_msgs - read_msgs >= _YIELD_MSGS or monotonic() - turn_started >= _YIELD_SECONDS:
                    # a flood: recv() returns without yielding while data is waiting, so let the
                    # delivery, writer and requesting greenlets run before reading more.  Big messages
                    # are read for up to 20 ms before yielding: nats-server cuts a client that leaves more
                    # than its max_pending (64 MiB) unread, and what is read is bounded by the queues
                    # (a server answers what does not fit "busy" from here)
                    gevent.sleep(0)
                    turn_started = monotonic()
                    read_msgs = self._in_msgs
        except BaseException as e:  # GreenletExit included: the socket is gone either way
            self._lost(conn, e if str(e) else type(e).__name__)
            if not isinstance(e, Exception):
                raise

    @staticmethod
    def _discard(conn):
        """Drop the rest of a refused message from the socket: with MSG_TRUNC the kernel frees it
        without copying it out (elsewhere it is read into a scratch buffer and forgotten)."""
        sock = conn.sock
        scratch = conn.scratch
        if scratch is None:
            scratch = conn.scratch = bytearray(_READ_SIZE)
        n = conn.skip
        while n > 0:
            got = sock.recv_into(scratch, min(n, _READ_SIZE), _MSG_TRUNC)
            if not got:
                raise ConnectionLost("closed by the server")
            n -= got
        conn.skip = 0

    @staticmethod
    def _read_big(sock, buf):
        """When ``buf`` starts with a MSG whose payload has not all come: read the rest of that message
        into a buffer of its final size (``recv_into``).  Returns (buffer, bytes read)."""
        if not buf.startswith(b"MSG "):
            return buf, 0
        i = buf.find(b"\r\n")
        if i < 0:
            return buf, 0
        try:
            total = i + 2 + int(bytes(buf[4:i]).rsplit(b" ", 1)[1]) + 2
        except (ValueError, IndexError):
            return buf, 0   # (the parser says what is wrong with it)
        have = len(buf)
        if total <= have:
            return buf, 0
        whole = bytearray(total)
        whole[:have] = buf
        view = memoryview(whole)
        try:
            n = have
            while n < total:
                got = sock.recv_into(view[n:])
                if not got:
                    raise ConnectionLost("closed by the server")
                n += got
        finally:
            view.release()
        return whole, total - have

    def _process(self, conn, buf):
        """Parse every complete protocol line/message in ``buf``; returns the unparsed rest."""
        pos = 0
        end = len(buf)
        subs = self._subs
        find = buf.find
        while pos < end:
            i = find(b"\r\n", pos)
            if i < 0:
                if end - pos > 1024 * 1024:
                    raise ServerError("protocol line too long")
                break
            c = buf[pos]
            if c == 77:  # M: MSG <subject> <sid> [reply] <size>
                parts = bytes(buf[pos + 4:i]).split(b" ")
                size = int(parts[-1])
                start = i + 2
                stop = start + size
                if size >= _SKIP_MIN:
                    sid = int(parts[1])
                    if sid != self._inbox_sid:
                        sub = subs.get(sid)
                        if sub is None or sub.refuses(size):
                            # refused (or unsubscribed): answered now, its payload never copied
                            self._in_msgs += 1
                            self._in_bytes += size
                            if sub is not None:
                                sub._refuse(Msg(_text(parts[0]), _text(parts[2]) if len(parts) == 4 else None,
                                                b"", self))
                            if stop + 2 <= end:
                                pos = stop + 2
                                continue
                            conn.skip = stop + 2 - end
                            pos = end
                            break
                if stop + 2 > end:
                    break  # payload incomplete: parse the header again when more arrives
                if size > 65536:
                    with memoryview(buf) as view:
                        data = bytes(view[start:stop])   # one copy, not two
                else:
                    data = bytes(buf[start:stop])
                pos = stop + 2
                self._in_msgs += 1
                self._in_bytes += size
                sid = int(parts[1])
                if sid == self._inbox_sid:
                    subject = parts[0]
                    entry = self._requests.get(subject[self._reply_prefix_len:])
                    if entry is not None and entry.deliver(
                            Msg(_text(subject), _text(parts[2]) if len(parts) == 4 else None, data, self)):
                        self._requests.pop(subject[self._reply_prefix_len:], None)
                    continue
                sub = subs.get(sid)
                if sub is not None:
                    sub._enqueue(Msg(_text(parts[0]), _text(parts[2]) if len(parts) == 4 else None,
                                     data, self))
                continue
            line = bytes(buf[pos:i])
            pos = i + 2
            if line == b"PING":
                self._write(b"PONG\r\n")
            elif line == b"PONG":
                conn.pings_out = 0
                if conn.pongs:
                    waiter = conn.pongs.popleft()
                    if waiter is not None:
                        waiter.set(self._errors_seen)
            elif line.startswith(b"-ERR"):
                self._server_error(_err_text(line))
            elif line.startswith(b"INFO "):
                try:
                    self._apply_info(conn, jsonutil.loads(line[5:]))
                except (ValueError, TypeError) as e:
                    LOG.warning("NATS %s: unreadable INFO: %s", self.name, e)
            elif line == b"+OK":
                pass
            else:
                LOG.warning("NATS %s: unexpected protocol line %r", self.name, line[:80])
        if pos == 0:
            return buf
        if pos >= end:
            return None
        return buf[pos:]

    def _server_error(self, text):
        """-ERR: log, count, fail the request it names (if any), tell on_error; the reader goes on."""
        exc = ServerError(text)
        self._errors += 1
        self._errors_seen += 1
        self._last_error = exc
        LOG.error("NATS %s: server error: %s", self.name, text)
        m = _PUB_VIOLATION.search(text)
        if m:
            subject = m.group(1)
            for token, entry in list(self._requests.items()):
                if entry.subject == subject:
                    self._requests.pop(token, None)
                    entry.fail(exc)
        m = _SUB_VIOLATION.search(text)
        if m:
            for sub in self._subs.values():
                if sub.subject == m.group(1):
                    sub.error = exc
        if self.on_error:
            gevent.spawn(_user_call, self.on_error, self, exc)

    def _ping_loop(self, conn):
        while not conn.closed:
            gevent.sleep(self.ping_interval)
            if conn.closed:
                return
            if conn.pings_out >= self.max_pings_out:
                self._lost(conn, "no PONG to %d PINGs (stale connection)" % conn.pings_out)
                return
            conn.pings_out += 1
            conn.pongs.append(None)
            try:
                self._write(b"PING\r\n")
            except BusError:
                return

    # -- writing ---------------------------------------------------------
    def _write(self, data):
        """Queue bytes for the writer greenlet (buffers while reconnecting); never blocks unless backed up."""
        state = self._state
        if state is not CONNECTED and state is not DRAINING:
            self._buffer(data, state)
            return
        conn = self._conn
        self._out.append(data)
        self._out_size += len(data)
        wake = conn.wake
        if not wake.is_set():
            wake.set()
            conn.idle.clear()
        if self._out_size > self._out_limit:
            current = gevent.getcurrent()
            if current is not conn.reader and current is not conn.writer:
                # the socket is not keeping up: hold this publisher until the writer catches up
                self._out_space.clear()
                self._out_space.wait()

    def _write_loop(self, conn):
        """The writer greenlet: sends what accumulated in ``_out``, one ``sendall`` per batch."""
        out = self._out
        wake = conn.wake
        idle = conn.idle
        sendall = conn.sock.sendall
        try:
            while True:
                wake.wait()
                if conn.closed:
                    return
                while out:
                    chunk = out[0] if len(out) == 1 else b"".join(out)
                    out.clear()
                    self._out_size = 0
                    sendall(chunk)
                    if not self._out_space.is_set():
                        self._out_space.set()
                    if conn.closed:
                        return
                # no yield between the empty check and clear(): no wake-up is lost
                wake.clear()
                idle.set()
        except BaseException as e:  # a partial message may be on the wire: the socket is done
            self._lost(conn, e if str(e) else type(e).__name__)
            if not isinstance(e, Exception):
                raise
        finally:
            idle.set()

    def _buffer(self, data, state):
        if state == RECONNECTING:
            if self._pending_bytes + len(data) > self.pending_buffer:
                raise PendingBufferFull("NATS %s disconnected and its pending buffer (%d bytes) is full"
                                        % (self.name, self.pending_buffer))
            self._pending.append(data)
            self._pending_bytes += len(data)
            return
        if state == CLOSED:
            raise BusClosed("bus %s is closed" % self.name)
        raise NotConnected("bus %s is not connected (%s)" % (self.name, state))

    # -- publish / subscribe ---------------------------------------------
    def publish(self, subject, payload=b"", reply=None):
        """Send a message (buffered while reconnecting). Raises PayloadTooLarge, InvalidSubject, NotConnected."""
        if type(payload) is not bytes:
            payload = _to_bytes(payload)
        size = len(payload)
        if size > self._max_payload:
            raise PayloadTooLarge("payload of %d bytes for %s exceeds the server's max_payload of %d bytes"
                                  % (size, subject, self._max_payload))
        _check_subject(subject)
        if reply:
            check_reply_subject(reply)
            head = "PUB %s %s %d\r\n" % (subject, reply, size)
        else:
            head = "PUB %s %d\r\n" % (subject, size)
        self._write(head.encode() + payload + b"\r\n")
        self._out_msgs += 1
        self._out_bytes += size

    def subscribe(self, subject, callback, queue=None, max_pending=10000,
                  max_pending_bytes=DEFAULT_MAX_PENDING_BYTES, on_overflow=None):
        """Subscribe ``callback(msg)`` (run in the subscription's greenlet); returns a Subscription.

        ``max_pending``/``max_pending_bytes`` bound its queue; ``on_overflow``: see :class:`Subscription`.
        """
        if self._state in (CLOSED, DRAINING):
            raise BusClosed("bus %s is %s" % (self.name, self._state))
        _check_subject(subject)
        if queue is not None:
            _check_subject(queue, "queue group")
        if max_pending < 1 or max_pending_bytes < 1:
            raise ValueError("max_pending and max_pending_bytes must be >= 1")
        sub = Subscription(self, next(self._sids), subject, callback, queue=queue, max_pending=max_pending,
                           max_pending_bytes=max_pending_bytes, on_overflow=on_overflow)
        self._subs[sub.sid] = sub
        if self.connected:  # else sent by the (re)connect
            self._write(_sub_line(sub))
        return sub

    def unsubscribe(self, sub):
        """Stop ``sub``; its undelivered messages are discarded. Idempotent."""
        if self._subs.pop(sub.sid, None) is None:
            sub._stop()
            return
        sub._stop()
        if self.connected:  # else the reconnect simply does not re-send it
            self._write(b"UNSUB %d\r\n" % sub.sid)

    # -- request / reply -------------------------------------------------
    def new_inbox(self):
        """A unique subject under this connection's inbox prefix (not caught by the request inbox)."""
        return "%s.s.%s" % (self._inbox_base, self._nuid.next_().decode())

    def _check_request(self):
        if self._state is not CONNECTED:
            if self._state == CLOSED:
                raise BusClosed("bus %s is closed" % self.name)
            if self._state != DRAINING:
                raise NotConnected("bus %s is not connected (%s)" % (self.name, self._state))

    def request(self, subject, payload=b"", timeout=1.0):
        """Publish with a reply token and wait for the reply; returns a Msg.

        Raises RequestTimeout, ConnectionLost (dropped while waiting),
        NotConnected (fails fast while reconnecting), ServerError (e.g. no
        permission to publish there), PayloadTooLarge.
        """
        self._check_request()
        token = b"%d" % next(self._tokens)
        entry = _Reply(subject)
        self._requests[token] = entry
        try:
            self.publish(subject, payload, self._reply_prefix + token.decode())
            result = entry.result
            result.wait(timeout)
            if not result.ready():
                raise RequestTimeout("no reply on %s within %.3fs" % (subject, timeout))
            return result.get(block=False)
        finally:
            self._requests.pop(token, None)

    def gather(self, subject, payload=b"", timeout=1.0, max_replies=None, until=None, raise_on_loss=False):
        """Publish once; collect replies until ``max_replies``, ``until(msgs)`` or ``timeout``.

        ``until(msgs)`` gets the replies so far after each reply and runs in
        the calling greenlet.  Returns the list of Msgs that came (possibly
        empty); never raises on timeout.  When the connection drops meanwhile
        it returns what came, or with ``raise_on_loss`` raises
        :class:`ConnectionLost` (``.partial``: the replies that came) unless
        ``until`` was already satisfied.
        """
        self._check_request()
        token = b"%d" % next(self._tokens)
        entry = _Gather(subject, max_replies, wake_each=until is not None)
        self._requests[token] = entry
        deadline = time.monotonic() + timeout
        try:
            self.publish(subject, payload, self._reply_prefix + token.decode())
            while not entry.done:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not entry.wake.wait(remaining):
                    break
                entry.wake.clear()
                if until is not None and until(entry.msgs):
                    entry.error = None  # satisfied: a loss right after does not matter
                    break
        finally:
            self._requests.pop(token, None)
        if raise_on_loss and entry.error is not None:
            exc = entry.error
            lost = ConnectionLost(str(exc))
            lost.partial = list(entry.msgs)
            raise lost
        return list(entry.msgs)

    # -- flush / drain / close -------------------------------------------
    def flush(self, timeout=2.0):
        """PING/PONG round trip: everything sent before has been processed by the server.

        Raises RequestTimeout, NotConnected, ConnectionLost, or ServerError if
        the server reported an error meanwhile (caused by something sent
        earlier on this connection).
        """
        if not self.connected:
            raise NotConnected("bus %s is not connected (%s)" % (self.name, self._state))
        conn = self._conn
        waiter = gevent.event.AsyncResult()
        seen = self._errors_seen
        conn.pongs.append(waiter)
        self._write(b"PING\r\n")
        waiter.wait(timeout)
        if not waiter.ready():
            raise RequestTimeout("flush: no PONG from %s within %.3fs" % (conn.server.display, timeout))
        if waiter.get(block=False) != seen:
            raise ServerError(self._last_error.text)

    def drain(self, timeout=5.0):
        """Stop receiving, deliver what is queued, wait for requests in flight, flush, close.

        Blocks up to ``timeout``; closes in any case.
        """
        if self._state in (CLOSED, DISCONNECTED):
            self.close()
            return
        deadline = time.monotonic() + timeout
        if not self.connected:
            self.close()
            return
        self._state = DRAINING
        subs = list(self._subs.values())
        try:
            for sub in subs:
                self._write(b"UNSUB %d\r\n" % sub.sid)
            self.flush(max(0.0, deadline - time.monotonic()))  # after the PONG, nothing more arrives
        except BusError as e:
            LOG.warning("NATS %s: drain: %s", self.name, e)
        for sub in subs:
            self._subs.pop(sub.sid, None)
            sub.wait_idle(max(0.0, deadline - time.monotonic()))
        while self._requests and time.monotonic() < deadline:
            entries = list(self._requests.values())
            for entry in entries:
                done = entry.result if isinstance(entry, _Reply) else entry.wake
                done.wait(max(0.0, deadline - time.monotonic()))
        if self.connected:
            try:
                self.flush(max(0.01, deadline - time.monotonic()))
            except BusError as e:
                LOG.warning("NATS %s: drain: final flush: %s", self.name, e)
        self.close()

    def close(self, timeout=1.0):
        """Close: no reconnect; requests in flight fail with ConnectionLost; queues discarded.

        Bytes already published are handed to the socket first (waiting up to
        ``timeout`` for the writer greenlet), so publish-then-close does not lose them.
        """
        if self._state == CLOSED:
            return
        conn = self._conn
        if self.connected and (self._out or not conn.idle.is_set()) and gevent.getcurrent() is not conn.writer:
            conn.idle.wait(timeout)
        self._state = CLOSED
        self._close_now()

    def _close_now(self):
        self._state = CLOSED
        if self._reconnector is not None and self._reconnector is not gevent.getcurrent():
            self._reconnector.kill(block=False)
        conn = self._conn
        if conn is not None and not conn.closed:
            conn.closed = True
            conn.wake.set()
            _close_quietly(conn.sock)
            if conn.pinger is not None and conn.pinger is not gevent.getcurrent():
                conn.pinger.kill(block=False)
            self._fail_in_flight(conn, ConnectionLost("bus %s closed" % self.name))
        else:
            self._fail_in_flight(_Connection(None, None, None, {}), ConnectionLost("bus %s closed" % self.name))
        for sub in list(self._subs.values()):
            sub._stop()
        self._subs.clear()
        self._pending.clear()
        self._pending_bytes = 0
        self._out.clear()
        self._out_size = 0
        self._out_space.set()
        self._log_routine("NATS %s closed", self.name)


# -- helpers -------------------------------------------------------------------


def _sub_line(sub):
    if sub.queue:
        return ("SUB %s %s %d\r\n" % (sub.subject, sub.queue, sub.sid)).encode()
    return ("SUB %s %d\r\n" % (sub.subject, sub.sid)).encode()


def _text(token):
    """A subject from the wire as str; bytes that are not UTF-8 (anyone may publish them) become lone
    surrogates, which no subject check lets back onto the wire, rather than killing the reader."""
    return token.decode("utf-8", "surrogateescape")


def _err_text(line):
    text = bytes(line[4:]).decode("utf-8", "replace").strip()
    if len(text) >= 2 and text[0] == text[-1] == "'":
        text = text[1:-1]
    return text


def _to_bytes(payload):
    if isinstance(payload, (bytearray, memoryview)):
        return bytes(payload)
    if isinstance(payload, str):
        return payload.encode("utf-8")
    if payload is None:
        return b""
    raise TypeError("payload must be bytes, not %s" % type(payload).__name__)


def _close_quietly(sock):
    if sock is None:
        return
    try:
        sock.close()
    except OSError:
        pass
