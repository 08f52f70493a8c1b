"""The Go ari-proxy recordings (``../shared/fixtures/go-wire/``) as test data.

Loaders read the captured NATS traffic of the Go server and client through
:func:`tests.support.shared.shared_path` (so a test skips, naming the folder,
when the shared folder is absent), pair every request with its replies by
reply subject, and name each exchange after the ``capture.marker`` step that
preceded it.

:func:`shape_diff` compares a recorded Go JSON value with a Python one the way
a Go decoder would care: every field the recording has must be in the Python
value with the same JSON type (integers stay integers, Go-layout timestamps
stay in that layout), recursively, lists by element shape; extra fields are
fine (Go ignores them).  Fields that Go filled with a zero value (``""``,
``0``, ``false``, ``null``, ``{}``, ``[]``, zero timestamps, objects made of
zeros: Go's encoder writes every struct field, e.g. ``replace_channel`` of
StasisStart) may be missing on the Python side: the Go decoder leaves the
same zero value.  Those are reported as notes, not differences.
:func:`value_diff` compares requests field by field, values included, with the
same zero-equals-absent rule.

Live helpers (lazy imports of ariproxy): :class:`ServerStack` (nats-server +
simulator + Python server + raw bus, in-process), :class:`Replayer` (sends the
recorded requests in order with their recorded reply subjects) and
:class:`FakeGoServer` (answers like the Go server did, from the recordings).
Loaders and comparators only read files; ``ServerStack`` entry and
``Replayer.result`` block the calling greenlet (up to their timeouts).
"""
import functools
import json
import os
import re
from collections import OrderedDict

from tests.support.shared import shared_path

__all__ = [
    "SCENARIOS", "GO_TIMESTAMP", "KEY_FIELDS", "Message", "Exchange",
    "go_wire_path", "recordings_available", "load_wire", "exchanges", "exchange_ids", "exchange_for_step",
    "event_messages", "load_kinds_json", "load_events_json", "load_ping_announce", "load_kinds_tsv",
    "known_kinds", "kind_of", "json_type", "is_zero", "clip", "Difference", "ShapeReport", "shape_diff",
    "assert_shape", "envelope_diff", "value_diff", "Retarget", "Replayed", "Replayer", "ServerStack",
    "FakeGoServer",
]

SCENARIOS = ("main", "two", "extra", "misc", "crash", "real")

MARKER_SUBJECT = "capture.marker"

# Go's ari.DateTime layout "2006-01-02T15:04:05.000-0700".
GO_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{4}$")
# time.Time{} and the Unix epoch, as the Go server writes unset timestamps.
GO_ZERO_TIMESTAMPS = ("0001-01-01T00:00:00.000+0000", "1970-01-01T00:00:00.000+0000")

REQUEST_CLASSES = ("get", "data", "command", "create")

#: the fields of an ari.Key (all ``omitempty`` in Go)
KEY_FIELDS = frozenset(("kind", "id", "node", "dialog", "app"))


def go_wire_path(*parts):
    """Path under fixtures/go-wire (skips the calling test when the shared folder is absent)."""
    return shared_path("fixtures", "go-wire", *parts)


# -- messages and exchanges -------------------------------------------------

class Message:
    """One captured NATS message: ``subject``, ``reply``, ``payload`` (parsed JSON, or
    the text when it did not parse), ``raw`` (exact bytes as text), ``step`` (the
    last marker before it), ``scenario``, ``seq``."""

    __slots__ = ("scenario", "seq", "subject", "reply", "payload", "raw", "step")

    def __init__(self, scenario, seq, subject, reply, payload, raw, step):
        self.scenario = scenario
        self.seq = seq
        self.subject = subject
        self.reply = reply
        self.payload = payload
        self.raw = raw
        self.step = step

    @property
    def is_marker(self):
        return self.subject == MARKER_SUBJECT

    @property
    def is_event(self):
        return self.subject.startswith(("ari.event.", "ari.dialogevent."))

    @property
    def subject_class(self):
        """``get``/``data``/``command``/``create`` for a request subject, else None."""
        parts = self.subject.split(".")
        if len(parts) >= 2 and parts[0] == "ari" and parts[1] in REQUEST_CLASSES:
            return parts[1]
        return None

    @property
    def raw_bytes(self):
        return self.raw.encode("utf-8")

    def __repr__(self):
        return "<Message %s#%d %s>" % (self.scenario, self.seq, self.subject)


class Exchange:
    """A request and every reply published to its reply subject (in order)."""

    __slots__ = ("request", "replies")

    def __init__(self, request, replies):
        self.request = request
        self.replies = replies

    scenario = property(lambda self: self.request.scenario)
    seq = property(lambda self: self.request.seq)
    step = property(lambda self: self.request.step)
    subject = property(lambda self: self.request.subject)
    subject_class = property(lambda self: self.request.subject_class)

    @property
    def payload(self):
        """The parsed request (a dict), or None when the recorded bytes are not a JSON object."""
        p = self.request.payload
        return p if isinstance(p, dict) else None

    @property
    def kind(self):
        """The request's kind ('' for an empty kind, None when it is not a JSON object)."""
        p = self.payload
        if p is None:
            return None
        return p.get("kind", "")

    @property
    def key(self):
        p = self.payload
        return p.get("key") if p is not None else None

    @property
    def payload_fields(self):
        """The request's payload object fields (everything but kind and key)."""
        p = self.payload or {}
        return {k: v for k, v in p.items() if k not in ("kind", "key")}

    @property
    def reply_style(self):
        """``inbox`` (_INBOX.x.y: exact-node request), ``rp`` (<ulid>-rp: Go broadcast/list
        gather), ``custom`` (hand-sent) or ``none``."""
        r = self.request.reply
        if not r:
            return "none"
        if r.startswith("_INBOX."):
            return "inbox"
        if r.endswith("-rp"):
            return "rp"
        return "custom"

    @property
    def first_reply(self):
        return self.replies[0].payload if self.replies else None

    @property
    def node_app(self):
        """(app, node) taken from the request subject (None where absent)."""
        parts = self.subject.split(".")
        app = parts[2] if len(parts) > 2 else None
        node = ".".join(parts[3:]) if len(parts) > 3 else None
        return app, node

    @property
    def id(self):
        """A readable, unique test id: ``main-0015-AsteriskVariableSet``."""
        kind = self.kind
        label = kind if kind else ("<empty-kind>" if kind == "" else "<not-json>")
        return "%s-%04d-%s" % (self.scenario, self.seq, label)

    def __repr__(self):
        return "<Exchange %s step=%r replies=%d>" % (self.id, self.step, len(self.replies))


@functools.lru_cache(maxsize=None)
def _read_wire(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                out.append(json.loads(line))
    return out


def load_wire(scenario):
    """Every message of ``wire_<scenario>.jsonl`` as :class:`Message` objects, markers included."""
    rows = _read_wire(go_wire_path("wire_%s.jsonl" % scenario))
    step = None
    out = []
    for row in rows:
        if row["subject"] == MARKER_SUBJECT:
            step = row["payload"] if isinstance(row["payload"], str) else row["raw"]
        out.append(Message(row.get("scenario", scenario), row["seq"], row["subject"], row.get("reply"),
                           row.get("payload"), row.get("raw", ""), step))
    return out


def exchanges(scenarios=SCENARIOS):
    """Requests (messages on ``ari.get|data|command|create...``) paired with their replies."""
    out = []
    for scenario in scenarios:
        msgs = load_wire(scenario)
        for i, m in enumerate(msgs):
            if m.is_marker or m.subject_class is None:
                continue
            replies = []
            if m.reply:
                replies = [r for r in msgs[i + 1:] if r.subject == m.reply]
            out.append(Exchange(m, replies))
    return out


def event_messages(scenarios=SCENARIOS):
    """Every message the Go server published on ``ari.event.*`` / ``ari.dialogevent.*``."""
    return [m for s in scenarios for m in load_wire(s) if m.is_event]


def exchange_for_step(step, scenario="main", index=0):
    """The ``index``-th exchange recorded under marker ``step``."""
    found = [x for x in exchanges((scenario,)) if x.step == step]
    if len(found) <= index:
        raise KeyError("no exchange #%d under step %r in %s" % (index, step, scenario))
    return found[index]


@functools.lru_cache(maxsize=None)
def _read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f, object_pairs_hook=OrderedDict)


def load_kinds_json():
    """kinds.json: per kind, subject classes, example request/response (+raw), error response."""
    return _read_json(go_wire_path("kinds.json"))


def load_events_json():
    """events.json: ``"event:<Type>"`` / ``"dialogevent:<Type>"`` -> {subject, payload, raw}."""
    return _read_json(go_wire_path("events.json"))


def load_ping_announce():
    return _read_json(go_wire_path("ping_announce.json"))


def load_kinds_tsv():
    """[(kind, class, payload_field or None)] of the 111 Go kinds (fixtures/kinds.tsv)."""
    path = shared_path("fixtures", "kinds.tsv")
    rows = []
    with open(path, encoding="utf-8") as f:
        header = f.readline()
        assert header.split() == ["kind", "class", "payload_field"], header
        for line in f:
            if line.strip():
                kind, cls, field = line.split()
                rows.append((kind, cls, None if field == "-" else field))
    return rows


# -- JSON shape comparison ---------------------------------------------------

def json_type(value):
    """JSON type name, telling integers from other numbers (Go int fields reject 1.5 and 1.0)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        # A float parsed from JSON had a fraction or exponent in its text, and Go's
        # int decoder refuses "1.0": a Python float is never an integer on the wire.
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def is_zero(value):
    """True for what Go writes for an unset field: "", 0, false, null, [], {}, zero timestamps,
    and objects whose every field is zero."""
    if value is None or value is False or value == "" or value == [] or value == {}:
        return True
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)) and value == 0:
        return True
    if isinstance(value, str) and value in GO_ZERO_TIMESTAMPS:
        return True
    if isinstance(value, dict):
        return all(is_zero(v) for v in value.values())
    return False


class Difference:
    """One place where a Python value does not have the recorded Go shape.

    ``problem``: ``missing``, ``type``, ``timestamp``, ``not-a-list-element`` ...;
    ``note`` is True for differences a Go decoder does not mind (a zero-valued
    field left out, an empty list whose elements cannot be checked).
    """

    __slots__ = ("path", "problem", "expected", "actual", "note")

    def __init__(self, path, problem, expected, actual, note=False):
        self.path = path
        self.problem = problem
        self.expected = expected
        self.actual = actual
        self.note = note

    def __str__(self):
        return "%s: %s (Go: %s, Python: %s)" % (self.path, self.problem, clip(self.expected), clip(self.actual))

    __repr__ = __str__


def clip(value, limit=80):
    """Compact JSON of ``value`` cut to ``limit`` characters (for failure messages)."""
    text = value if value is _ABSENT else json.dumps(value, separators=(",", ":"))
    if len(text) > limit:
        text = text[:limit] + "..."
    return text


_ABSENT = "<absent>"


class ShapeReport:
    """Differences found by :func:`shape_diff`; ``ok`` when none is an error."""

    def __init__(self, differences, context=""):
        self.context = context
        self.errors = [d for d in differences if not d.note]
        self.notes = [d for d in differences if d.note]

    @property
    def ok(self):
        return not self.errors

    def __bool__(self):
        return self.ok

    def __str__(self):
        head = self.context or "shape"
        if self.ok:
            lines = ["%s: same shape as the Go recording" % head]
        else:
            lines = ["%s: %d difference(s) from the Go recording:" % (head, len(self.errors))]
            lines += ["  - %s" % d for d in self.errors]
        if self.notes:
            lines.append("  notes (fine for a Go decoder):")
            lines += ["  . %s" % d for d in self.notes]
        return "\n".join(lines)


def _merge_elements(items):
    """A template for the elements of a recorded list, and the object keys not in every element."""
    dicts = [i for i in items if isinstance(i, dict)]
    if not dicts or len(dicts) != len(items):
        first = next((i for i in items if not is_zero(i)), items[0])
        return first, set()
    template = OrderedDict()
    counts = {}
    for d in dicts:
        for k, v in d.items():
            counts[k] = counts.get(k, 0) + 1
            if k not in template or (is_zero(template[k]) and not is_zero(v)):
                template[k] = v
    optional = {k for k, n in counts.items() if n < len(dicts)}
    return template, optional


def shape_diff(go, py, path="$", optional=()):
    """List of :class:`Difference` between recorded Go value ``go`` and Python value ``py``."""
    out = []
    _diff(go, py, path, out, set(optional))
    return out


def _diff(go, py, path, out, optional_keys):
    if go is None:
        return  # Go wrote null: any Python value decodes (we cannot know the Go type)
    gt, pt = json_type(go), json_type(py)
    if py is None:
        out.append(Difference(path, "null where Go has a value", go, py, note=is_zero(go)))
        return
    if gt == "integer":
        if pt != "integer":
            out.append(Difference(path, "type %s, Go has integer" % pt, go, py))
        return
    if gt == "number":
        if pt not in ("integer", "number"):
            out.append(Difference(path, "type %s, Go has number" % pt, go, py))
        return
    if gt != pt:
        out.append(Difference(path, "type %s, Go has %s" % (pt, gt), go, py))
        return
    if gt == "string":
        if GO_TIMESTAMP.match(go) and not GO_TIMESTAMP.match(py):
            out.append(Difference(path, "timestamp not in Go layout 2006-01-02T15:04:05.000-0700", go, py))
        return
    if gt == "object":
        key_like = bool(go) and set(go) <= KEY_FIELDS
        for k, gv in go.items():
            sub = "%s.%s" % (path, k)
            if k not in py:
                if key_like and k == "id":
                    # Key fields are omitempty in Go: an absent id reads as "" (the console
                    # log channel's name is empty on a real Asterisk).  A missing kind, node,
                    # app or dialog would change where the Go client sends its next request.
                    out.append(Difference(sub, "missing key id (Go omits it when empty)", gv, _ABSENT,
                                          note=True))
                elif is_zero(gv):
                    out.append(Difference(sub, "missing (Go sends its zero value)", gv, _ABSENT, note=True))
                elif k in optional_keys:
                    out.append(Difference(sub, "missing (absent in some Go elements too)", gv, _ABSENT,
                                          note=True))
                else:
                    out.append(Difference(sub, "missing", gv, _ABSENT))
                continue
            _diff(gv, py[k], sub, out, set())
        return
    if gt == "array":
        if not go:
            return
        template, optional = _merge_elements(go)
        if not py:
            out.append(Difference(path, "empty list, element shape not checked", go[:1], py, note=True))
            return
        for i, item in enumerate(py):
            _diff(template, item, "%s[%d]" % (path, i), out, optional)


def assert_shape(go, py, context="", optional=()):
    """Fail (AssertionError with a readable report) when ``py`` does not have ``go``'s shape."""
    report = ShapeReport(shape_diff(go, py, optional=optional), context)
    assert report.ok, str(report)
    return report


def envelope_diff(go, py, allow_extra=(), allow_missing=(), is_list=False):
    """Top-level response check beyond shape: ``error`` is a string, and ``data``/``key``/``keys``
    are present exactly where the Go reply has them (names in ``allow_extra`` /
    ``allow_missing`` are known, documented divergences).  For a List (``is_list``)
    Go leaves ``keys`` out when the list is empty, so extra ``keys`` are fine."""
    if is_list:
        allow_extra = tuple(allow_extra) + ("keys",)
    out = []
    if not isinstance(py, dict):
        return [Difference("$", "reply is not a JSON object", go, py)]
    if not isinstance(py.get("error"), str):
        out.append(Difference("$.error", "missing or not a string", go.get("error"), py.get("error", _ABSENT)))
    for field in ("data", "key", "keys"):
        g, p = field in go, field in py
        if g and not p and field not in allow_missing:
            if not is_zero(go[field]) or field == "data":
                out.append(Difference("$." + field, "missing", go[field], _ABSENT))
        if p and not g and field not in allow_extra and not is_zero(py[field]):
            out.append(Difference("$." + field, "present, Go reply has none", _ABSENT, py[field]))
    return out


# -- replaying recorded requests to a live server ------------------------------

def recordings_available():
    """True when the shared recordings can be read (for building test parameters at import)."""
    from tests.support.shared import SHARED
    return os.path.isdir(os.path.join(SHARED, "fixtures", "go-wire"))


def exchange_ids(scenarios=SCENARIOS, where=None):
    """Test parameters: exchange ids (``[]`` when the recordings are absent: the test is skipped)."""
    if not recordings_available():
        return []
    return [x.id for x in exchanges(scenarios) if where is None or where(x)]


class Retarget:
    """Rewrites app names and node ids in subjects and raw payloads (e.g. the ``real``
    scenario's ``goref-wire``/``02:fc:00:00:00:01`` onto the test server's)."""

    def __init__(self, mapping=None):
        self.mapping = dict(mapping or {})

    def text(self, text):
        for old, new in self.mapping.items():
            text = text.replace(old, new)
        return text

    def value(self, obj):
        return json.loads(self.text(json.dumps(obj))) if self.mapping else obj


class Replayed:
    """What a live server answered to one recorded request: ``subject`` and ``raw`` sent,
    ``replies`` (parsed JSON, or the text when it did not parse)."""

    __slots__ = ("exchange", "subject", "raw", "replies")

    def __init__(self, exchange, subject, raw, replies):
        self.exchange = exchange
        self.subject = subject
        self.raw = raw
        self.replies = replies

    @property
    def reply(self):
        return self.replies[0] if self.replies else None

    def __repr__(self):
        return "<Replayed %s -> %s>" % (self.exchange.id, self.replies)


class Replayer:
    """Sends recorded requests, in recorded order and with their recorded reply subjects, to
    whatever listens on the bus.

    ``bus`` is an ``ariproxy.bus.Bus``.  ``result(id)`` replays every exchange up
    to and including ``id`` (once; results are cached), so a parametrised test
    selected alone still sees the entities the earlier recorded steps created.
    ``before`` maps an exchange id to a callable run just before it is sent;
    ``retarget`` maps an exchange id or a scenario to a :class:`Retarget` (both
    apply, the exchange's first).  Each send blocks up to
    ``timeout`` (``quiet_timeout`` when the recording shows no reply) or until
    ``max_replies`` arrived (``"recorded"``: as many as the Go servers sent).
    """

    def __init__(self, bus, scenarios, retarget=None, before=None, timeout=3.0, quiet_timeout=0.5,
                 max_replies=1):
        self.bus = bus
        self.order = exchanges(scenarios)
        self.index = {x.id: i for i, x in enumerate(self.order)}
        self.retarget = retarget or {}
        self.before = before or {}
        self.timeout = timeout
        self.quiet_timeout = quiet_timeout
        self.max_replies = max_replies
        self.done = {}
        self._next = 0

    def exchange(self, xid):
        return self.order[self.index[xid]]

    def result(self, xid):
        target = self.index[xid]
        while self._next <= target:
            x = self.order[self._next]
            self._next += 1
            self.done[x.id] = self._send(x)
        return self.done[xid]

    def replay_all(self):
        if self.order:
            self.result(self.order[-1].id)
        return self.done

    def _send(self, x):
        rt = Retarget()
        for name in (x.id, x.scenario):
            rt.mapping.update((self.retarget.get(name) or Retarget()).mapping)
        hook = self.before.get(x.id)
        if hook is not None:
            hook(x)
        subject = rt.text(x.subject)
        raw = rt.text(x.request.raw).encode("utf-8")
        timeout = self.timeout if x.replies or x.reply_style == "none" else self.quiet_timeout
        if x.reply_style == "none":
            self.bus.publish(subject, raw)
            self.bus.flush()
            return Replayed(x, subject, raw, [])
        limit = self.max_replies
        if limit == "recorded":   # as many as the Go servers sent (at least one)
            limit = max(1, len(x.replies))
        replies = self._request(subject, raw, x.request.reply, timeout, limit)
        return Replayed(x, subject, raw, replies)

    def _request(self, subject, raw, reply, timeout, limit):
        """Publish with the Go client's own reply subject (``_INBOX.x.y``, ``<ulid>-rp``, or a
        hand-made one): the server must answer whatever subject the requester chose."""
        import gevent.event
        got = []
        enough = gevent.event.Event()

        def on_reply(msg):
            data = bytes(msg.data)
            try:
                got.append(json.loads(data.decode("utf-8")))
            except ValueError:
                got.append(data.decode("utf-8", "replace"))
            if len(got) >= limit:
                enough.set()

        sub = self.bus.subscribe(reply, on_reply)
        try:
            self.bus.flush()
            self.bus.publish(subject, raw, reply=reply)
            enough.wait(timeout)
        finally:
            sub.unsubscribe()
        return list(got)


def known_kinds():
    """The 111 Go kinds (fixtures/kinds.tsv)."""
    return {k for k, _, _ in load_kinds_tsv()}


def kind_of(xid):
    """The kind part of an exchange id (``main-0015-AsteriskVariableSet`` -> ``AsteriskVariableSet``)."""
    return xid.split("-", 2)[2]


class ServerStack:
    """nats-server + simulated Asterisk + Python ari-proxy server + a raw bus, in-process.

    A context manager; entering blocks until the server is serving (or fails
    with the reason).  ``events`` collects ``(subject, payload dict)`` of every
    message the server publishes on ``ari.event.>`` and ``ari.dialogevent.>``.
    The simulator is seeded with what the Go recordings' fake Asterisk had:
    endpoints PJSIP/alice, bob and carol, device state ``Stasis:mydevice``,
    mailbox ``1000@default``, config object ``res_pjsip/endpoint/alice``.
    """

    SEED_ENDPOINTS = (("PJSIP", "alice"), ("PJSIP", "bob"), ("PJSIP", "carol"))

    def __init__(self, app="testapp", node="00:11:22:33:44:55", nats=None, playback_duration=None):
        self.app = app
        self.node = node
        self._own_nats = nats is None
        self.nats = nats
        self.playback_duration = playback_duration
        self.sim = self.server = self.bus = None
        self.events = []

    # -- life cycle
    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        from ariproxy.bus import Bus
        from ariproxy.server import Server
        from ariproxy.sim import Simulator
        from tests.support.nats import NatsServer
        if self.nats is None:
            self.nats = NatsServer().start()
        kwargs = {"entity_id": self.node, "endpoints": list(self.SEED_ENDPOINTS)}
        if self.playback_duration is not None:
            kwargs["playback_duration"] = self.playback_duration
        self.sim = Simulator(**kwargs)
        self.sim.start()
        self.seed()
        self.bus = Bus(self.nats.url, name="interop-test")
        self.bus.connect()
        self.bus.subscribe("ari.event.>", self._on_event)
        self.bus.subscribe("ari.dialogevent.>", self._on_event)
        self.bus.flush()
        self.server = Server(ari_url=self.sim.url, ari_ws_url=self.sim.ws_url, application=self.app,
                             nats_url=self.nats.url, announce_interval=3600.0)
        self.server.start()
        if not self.server.wait_ready(15):
            raise RuntimeError("Python server not ready within 15 s (state %r)" % (self.server.state,))
        return self

    def stop(self):
        for stop in (lambda: self.server and self.server.stop(timeout=5),
                     lambda: self.bus and self.bus.close(),
                     lambda: self.sim and self.sim.stop(),
                     lambda: self._own_nats and self.nats and self.nats.cleanup()):
            try:
                stop()
            except Exception:  # teardown goes on; the test result already says what failed
                pass

    def _on_event(self, msg):
        try:
            self.events.append((msg.subject, json.loads(bytes(msg.data).decode("utf-8"))))
        except ValueError:
            self.events.append((msg.subject, bytes(msg.data).decode("utf-8", "replace")))

    # -- ARI side
    def ari(self, method, path, **kwargs):
        """Call the simulator's ARI over HTTP (setup only); returns the requests.Response."""
        import requests
        return requests.request(method, self.sim.url + path, auth=("asterisk", "asterisk"), timeout=5, **kwargs)

    def seed(self):
        steps = [
            ("PUT", "/deviceStates/Stasis:mydevice", {"params": {"deviceState": "NOT_INUSE"}}),
            ("PUT", "/mailboxes/1000@default", {"params": {"oldMessages": 1, "newMessages": 2}}),
            ("PUT", "/asterisk/config/dynamic/res_pjsip/endpoint/alice",
             {"json": {"fields": [{"attribute": "context", "value": "default"},
                                  {"attribute": "allow", "value": "ulaw"}]}}),
        ]
        for method, path, kw in steps:
            r = self.ari(method, path, **kw)
            if r.status_code >= 300:
                raise RuntimeError("seeding the simulator: %s %s -> %s %s" % (method, path, r.status_code, r.text))

    def ari_down(self, seconds=60.0):
        """Drop the server's ARI websocket and refuse connections until :meth:`ari_up` (at most
        ``seconds``, so a run that skips ``ari_up`` still recovers); blocks until the server has
        noticed (state ``ari-down``)."""
        from tests.support.wait import wait_for
        self.sim.refuse_connections(seconds)
        wait_for(lambda: self.server.state == "ari-down", 5, message="server noticing ARI down")

    def ari_up(self, timeout=15):
        """Let the simulator accept connections again; block until the server is serving again."""
        from tests.support.wait import wait_for
        self.sim.accept_connections()
        wait_for(lambda: self.server.state == "serving", timeout, message="server back on ARI")

    def events_of(self, event_type, dialog=None):
        """Published events of ``event_type``: on ``ari.event.*``, or on ``ari.dialogevent.<dialog>``."""
        want = ("ari.dialogevent.%s" % dialog) if dialog else None
        return [p for s, p in list(self.events) if isinstance(p, dict) and p.get("type") == event_type
                and (s == want if want else s.startswith("ari.event."))]


def value_diff(go, py, path="$", routing=()):
    """Differences between a recorded Go value and a Python one, field by field, where a
    missing field equals its zero value (Go's decoder cannot tell them apart).  Names in
    ``routing`` (e.g. ``("$.key.app", "$.key.node")``) may be filled by Python where Go
    left them empty (routing scope); when both are set they must be equal."""
    out = []
    _vdiff(go, py, path, out, set(routing))
    return out


def _vdiff(go, py, path, out, routing):
    gz = go is _ABSENT or is_zero(go)
    pz = py is _ABSENT or is_zero(py)
    if gz and pz:
        return
    if path in routing and gz:
        return
    if isinstance(go, dict) and isinstance(py, dict):
        for k in list(go) + [k for k in py if k not in go]:
            _vdiff(go.get(k, _ABSENT), py.get(k, _ABSENT), "%s.%s" % (path, k), out, routing)
        return
    if isinstance(go, list) and isinstance(py, list) and len(go) == len(py):
        for i, (g, p) in enumerate(zip(go, py)):
            _vdiff(g, p, "%s[%d]" % (path, i), out, routing)
        return
    if go is _ABSENT or py is _ABSENT:
        out.append(Difference(path, "missing in Python" if py is _ABSENT else "not sent by Go", go, py))
        return
    if json_type(go) != json_type(py) or go != py:
        out.append(Difference(path, "value differs", go, py))


class FakeGoServer:
    """A Go ari-proxy server made from the recordings, on a raw bus.

    Answers ``ari.ping`` with the recorded announcement and every request on
    ``ari.get|data|command|create`` (all levels) with the Go server's recorded
    reply bytes for the request's kind (kinds.json), ``Not implemented`` for a
    kind Go does not know, exactly as the Go server does.  ``script(replies)``
    makes the next requests get the given raw replies instead (a list of byte
    strings, each published to the request's reply subject; ``[]``: no reply).
    ``requests`` holds ``(subject, reply, parsed request)`` of what arrived.
    Callbacks run on the bus's delivery greenlets; nothing here blocks.
    """

    def __init__(self, bus, node="00:11:22:33:44:55", app="testapp"):
        self.bus = bus
        self.node = node
        self.app = app
        self.requests = []
        self.pings = []
        self._script = None
        self._subs = []
        #: raw announcements published on each ping (default: this server's, as recorded)
        self.announcements = None

    def start(self):
        for cls in REQUEST_CLASSES:
            for subject in ("ari.%s" % cls, "ari.%s.>" % cls):
                self._subs.append(self.bus.subscribe(subject, self._on_request))
        self._subs.append(self.bus.subscribe("ari.ping", self._on_ping))
        self.bus.flush()
        return self

    def stop(self):
        for sub in self._subs:
            try:
                sub.unsubscribe()
            except Exception:  # the bus may already be closed at teardown
                pass
        self._subs = []

    def announcement(self):
        raw = load_ping_announce()["ari.announce"]["raw"]
        return Retarget({"00:11:22:33:44:55": self.node, "testapp": self.app}).text(raw).encode("utf-8")

    def _on_ping(self, msg):
        self.pings.append(bytes(msg.data))
        for raw in self.announcements or [self.announcement()]:
            self.bus.publish("ari.announce", raw)

    def script(self, replies):
        """Answer the following requests with ``replies`` (raw bytes each) until :meth:`reset`."""
        self._script = [r if isinstance(r, bytes) else r.encode("utf-8") for r in replies]

    def reset(self):
        self._script = None
        self.requests = []
        self.announcements = None

    def go_replies(self, request):
        """What the Go server (with the recordings' fake Asterisk) answered for this request."""
        kind = request.get("kind") if isinstance(request, dict) else None
        rec = load_kinds_json().get(kind) if kind else None
        if rec is None or kind == "NoSuchKind":
            return [b'{"error":"Not implemented"}']
        return [rec["example_response_raw"].encode("utf-8")]

    def _on_request(self, msg):
        try:
            request = json.loads(bytes(msg.data).decode("utf-8"))
        except ValueError:
            request = None
        self.requests.append((msg.subject, msg.reply, request))
        if request is None or not msg.reply:
            return  # the Go server drops what it cannot decode
        replies = self._script if self._script is not None else self.go_replies(request)
        for raw in replies:
            self.bus.publish(msg.reply, raw)

    def sent(self, kind):
        """The requests of ``kind`` that arrived, as (subject, parsed)."""
        return [(s, r) for s, _reply, r in self.requests if isinstance(r, dict) and r.get("kind") == kind]
