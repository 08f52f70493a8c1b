"""Per-request and per-event observations for metrics, kept in plain Python counters.

The hot path pays a dict increment and a bisect per request (no locks, no
label lookups); :mod:`ariproxy.server.metrics` turns these counters into
Prometheus families when scraped.  Installed by the server only when
metrics are on (``Server(http=..., metrics=True)``).

Hooks called by :class:`~ariproxy.server.core.Server`:

- ``begin(msg)`` in ``dispatch``: returns a :class:`TimedMsg` (the same
  message, with its arrival time and subject class);
- ``decoded(msg, request)``: the request's kind is known;
- ``answered(msg, response)``: the outcome is known;
- ``replied(msg, payload)``: the reply goes out; the latency is observed;
- ``ari_call(transport, seconds)`` from the request handler;
- ``wrap_forward(forward)``: the event forwarder, counting events by type.

Label values are bounded: request kinds outside the kinds table count as
``unknown``, and past :data:`MAX_EVENT_TYPES` event types new ones count as
``other``.
"""
import bisect
import time

from ariproxy.bus import Msg
from ariproxy.protocol import GENERIC_KIND, KINDS
from ariproxy.server.handlers import NOT_IMPLEMENTED

__all__ = ["Histogram", "RequestObserver", "TimedMsg", "REQUEST_BUCKETS", "ARI_BUCKETS", "MAX_EVENT_TYPES"]

#: seconds; request latency from arrival in ``dispatch`` to the reply
REQUEST_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: seconds; one ARI REST call
ARI_BUCKETS = REQUEST_BUCKETS
MAX_EVENT_TYPES = 200

_KNOWN_KINDS = frozenset(KINDS) | {GENERIC_KIND}
_perf = time.perf_counter


class Histogram:
    """Bucket counts (upper bounds ``buckets``, plus +Inf), sum and count of observed values."""

    __slots__ = ("buckets", "counts", "sum")

    def __init__(self, buckets):
        self.buckets = tuple(buckets)
        self.counts = [0] * (len(self.buckets) + 1)
        self.sum = 0.0

    def observe(self, value):
        self.counts[bisect.bisect_left(self.buckets, value)] += 1
        self.sum += value

    @property
    def count(self):
        return sum(self.counts)

    def cumulative(self):
        """``[(upper bound, observations <= it), ..., (inf, count)]``."""
        out, total = [], 0
        for bound, n in zip(self.buckets + (float("inf"),), self.counts):
            total += n
            out.append((bound, total))
        return out


class TimedMsg(Msg):
    """A request message with what the observer learns about it on the way."""

    __slots__ = ("t0", "cls", "kind", "outcome")


class RequestObserver:
    """Counters and histograms of one server's requests, ARI calls and events."""

    def __init__(self, prefix):
        self._plen = len(prefix)
        self.requests = {}          # (kind, outcome) -> count
        self.latency = {}           # subject class -> Histogram
        self.ari_latency = {}       # transport -> Histogram
        self.event_types = {}       # event type -> count

    # -- requests -------------------------------------------------------------------------------
    def begin(self, msg):
        timed = TimedMsg(msg.subject, msg.reply, msg.data, msg._bus)
        timed.t0 = _perf()
        subject = msg.subject
        end = subject.find(".", self._plen)
        timed.cls = subject[self._plen:end] if end > 0 else subject[self._plen:]
        timed.kind = "unknown"
        timed.outcome = None
        return timed

    @staticmethod
    def decoded(msg, request):
        if type(msg) is TimedMsg:
            kind = request.kind
            msg.kind = kind if kind in _KNOWN_KINDS else "unknown"

    @staticmethod
    def answered(msg, response):
        if type(msg) is TimedMsg:
            msg.outcome = _outcome(response.error)

    def replied(self, msg, payload):
        if type(msg) is not TimedMsg or msg.t0 is None:
            return
        elapsed = _perf() - msg.t0
        msg.t0 = None   # one observation per request, even if a second reply were attempted
        outcome = msg.outcome or _outcome_of_payload(payload)
        key = (msg.kind, outcome)
        requests = self.requests
        requests[key] = requests.get(key, 0) + 1
        hist = self.latency.get(msg.cls)
        if hist is None:
            hist = self.latency[msg.cls] = Histogram(REQUEST_BUCKETS)
        hist.observe(elapsed)

    # -- ARI and events -------------------------------------------------------------------------
    def ari_call(self, transport, seconds):
        hist = self.ari_latency.get(transport)
        if hist is None:
            hist = self.ari_latency[transport] = Histogram(ARI_BUCKETS)
        hist.observe(seconds)

    def wrap_forward(self, forward):
        """``forward(event)`` that also counts the event's type."""
        types = self.event_types

        def counting_forward(event):
            forward(event)
            etype = event.type
            n = types.get(etype)
            if n is not None:
                types[etype] = n + 1
            elif len(types) < MAX_EVENT_TYPES:
                types[etype if isinstance(etype, str) and etype else "unknown"] = 1
            else:
                types["other"] = types.get("other", 0) + 1
        return counting_forward


# error text prefix -> outcome label (anything else with an error: "error")
_ERROR_OUTCOMES = (("bad request", "bad_request"), ("timeout", "timeout"), ("ARI connection is down", "ari_down"))


def _outcome(error):
    if not error:
        return "ok"
    if error == NOT_IMPLEMENTED:
        return "not_implemented"
    for prefix, outcome in _ERROR_OUTCOMES:
        if error.startswith(prefix):
            return outcome
    return "error"


def _outcome_of_payload(payload):
    """The outcome of a reply sent without a Response in hand (refusals, failures)."""
    head = payload[:120] if isinstance(payload, (bytes, bytearray)) else b""
    if b'"error":""' in head or b'"error"' not in head:
        return "ok"
    if b"busy:" in head:
        return "busy"
    if b"ARI connection is down" in head:
        return "ari_down"
    if b"shutting down" in head:
        return "shutting_down"
    if b"bad request" in head:
        return "bad_request"
    if b"wrong server" in head:
        return "wrong_server"
    return "error"
