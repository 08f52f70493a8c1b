"""``ariproxy``: the operator's and developer's command line (a client of the proxies on NATS).

Subcommands::

    ariproxy nodes   [--app A] [--json]                 every proxy that answers a ping
    ariproxy events  [--app A] [--node N] [--dialog D] [--type T] [--json]   tail events live
    ariproxy call    ENDPOINT [--app A] [--play MEDIA] [--wait]  originate and follow one call
    ariproxy request KIND [--key JSON] [--payload JSON] [--node N]  one raw protocol request
    ariproxy check   [--app A] [--node N]               exit 0 only when that proxy serves
    ariproxy shell   [--app A]                          an interactive prompt with a connected client

Common options (before or after the subcommand): ``--nats-url`` (default: ``$NATS_URI``,
``$NATS_URL``, ``$MESSAGEBUS_URL``, else nats://127.0.0.1:4222), ``--prefix`` (``ari.``),
``--timeout`` (seconds per request), ``--app`` (default ``$ARI_APPLICATION``).

Exit status: 0 success; 1 failure (NATS unreachable, no proxy answered, the request
failed); 2 bad input (unknown subcommand, bad JSON, unknown kind or event type); for
``call``: 0 answered, 3 busy, 4 no answer, 5 failed (the call ended any other way).
Messages go to stderr; colours only when the output is a terminal (and ``NO_COLOR`` is
unset).  Every subcommand blocks until done (``events`` until Ctrl-C, ``--count`` or
``--duration``).
"""
from gevent import monkey

if not monkey.is_module_patched("socket"):
    monkey.patch_all()

import argparse  # noqa: E402
import datetime  # noqa: E402
import difflib  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import gevent  # noqa: E402

from . import errors  # noqa: E402
from .jsonutil import dumps, loads, mask_url  # noqa: E402
from .protocol import KINDS, Key, check_event_type  # noqa: E402
from .protocol.generic import GENERIC_KIND  # noqa: E402

__all__ = ["main", "format_event", "CallResult", "follow_call", "EXIT_OK", "EXIT_FAILURE", "EXIT_USAGE",
           "EXIT_BUSY", "EXIT_NO_ANSWER", "EXIT_CALL_FAILED"]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_BUSY = 3
EXIT_NO_ANSWER = 4
EXIT_CALL_FAILED = 5

DEFAULT_URL = "nats://127.0.0.1:4222"
URL_ENV = ("NATS_URI", "NATS_URL", "MESSAGEBUS_URL")


class UsageError(Exception):
    """Bad input: printed, exit status 2."""


class Failure(Exception):
    """Something did not work (NATS, no proxy, a failed request): printed, exit status 1."""


# -- output ---------------------------------------------------------------------------

class Style:
    """ANSI colours when writing to a terminal (and NO_COLOR is unset); plain text otherwise."""

    CODES = {"dim": "2", "bold": "1", "red": "31", "green": "32", "yellow": "33", "blue": "34", "cyan": "36"}

    def __init__(self, stream):
        self.on = bool(getattr(stream, "isatty", lambda: False)()) and not os.environ.get("NO_COLOR")

    def __call__(self, text, *names):
        if not self.on or not names:
            return text
        return "\033[%sm%s\033[0m" % (";".join(self.CODES[n] for n in names), text)


def _event_colour(event_type):
    if event_type in ("StasisStart", "ChannelCreated", "BridgeCreated", "PlaybackStarted", "RecordingStarted"):
        return "green"
    if event_type in ("StasisEnd", "ChannelDestroyed", "BridgeDestroyed", "ChannelHangupRequest",
                      "RecordingFailed"):
        return "red"
    if event_type.startswith("Playback") or event_type.startswith("Recording"):
        return "blue"
    return "cyan"


def _short_time(timestamp):
    """HH:MM:SS.mmm of an ARI timestamp (``2024-01-01T12:00:00.123+0000``), else the local time now."""
    if isinstance(timestamp, str) and "T" in timestamp:
        clock = timestamp.split("T", 1)[1]
        for sep in ("+", "-", "Z"):
            clock = clock.split(sep, 1)[0]
        return clock[:12]
    return datetime.datetime.now().strftime("%H:%M:%S.%f")[:12]


def format_event(event, style=None):
    """One readable line for an event: time, node, type, entity ids and the fields that say what happened."""
    style = style or (lambda text, *names: text)
    parts = [style(_short_time(event.timestamp), "dim"), event.asterisk_id or "-",
             style("%-22s" % event.type, _event_colour(event.type), "bold")]
    for key in event.keys():
        parts.append("%s=%s" % (key.kind, key.id))
    body = event.body
    channel = body.get("channel")
    if isinstance(channel, dict) and channel.get("state"):
        parts.append("state=%s" % channel["state"])
    for name in ("dialstatus", "cause", "cause_txt", "digit", "media_uri", "variable", "value", "eventname"):
        value = body.get(name)
        if value not in (None, ""):
            parts.append("%s=%s" % (name, value if not isinstance(value, str) or " " not in value
                                    else repr(value)))
    playback = body.get("playback")
    if isinstance(playback, dict) and playback.get("media_uri"):
        parts.append("media=%s" % playback["media_uri"])
    if event.dialog:
        parts.append("dialog=%s" % event.dialog)
    return " ".join(parts)


def _write(out, text):
    out.write(text + "\n")
    out.flush()


# -- connecting ----------------------------------------------------------------------

def nats_url_from(args):
    """The NATS URL: --nats-url, else the environment (as the client reads it), else the local default."""
    if args.nats_url:
        return args.nats_url
    return next((os.environ[v] for v in URL_ENV if os.environ.get(v)), DEFAULT_URL)


def connect(args, application=None):
    """A connected ``ariproxy.Client``; Failure with a clear message when NATS cannot be reached."""
    from .client import Client
    url = nats_url_from(args)
    app = application if application is not None else args.app
    try:
        return Client(application=app or None, url=url, prefix=args.prefix, timeout=args.timeout,
                      name="ariproxy-cli")
    except errors.ValidationError as e:
        raise UsageError(str(e)) from None
    except errors.ProtocolError as e:
        raise UsageError(str(e)) from None
    except Exception as e:
        raise Failure("cannot connect to NATS at %s: %s" % (mask_url(url), e)) from None


def _check_token(what, value):
    from .protocol import validate_token
    if value:
        try:
            validate_token(what, value)
        except errors.ProtocolError as e:
            raise UsageError(str(e)) from None


def _wait_nodes(client, args, node=None, wait=None, first=False):
    """Ping and collect answers for ``wait`` seconds; with ``node`` (or ``first``) only until a
    matching proxy answered (``first``: plus a moment for the others)."""
    cluster = client.cluster
    sent = cluster.ping()
    wait = args.wait if wait is None else wait
    if node or first:
        if cluster.wait(lambda c: any((not node or n.node == node) and (not args.app or n.application == args.app)
                                      for n in c.nodes()), wait) and first and not node:
            gevent.sleep(min(0.2, wait))
    else:
        gevent.sleep(wait)
        cluster.confirm(sent)
    return [n for n in client.nodes() if (not args.app or n.application == args.app)
            and (not node or n.node == node)]


# -- subcommands ---------------------------------------------------------------------

#: an operation no Asterisk has: a Python server refuses it by name, a Go server does not know the kind
_PROBE = {"resource": "ariproxy", "operation": "implementation", "params": {}}


def implementation(client, node, application, timeout):
    """``python`` or ``go`` for the server (node, application), from how it answers a generic-kind probe
    that never reaches Asterisk; ``?`` when it does not answer in time."""
    from .protocol.generic import GENERIC_PAYLOAD_FIELD
    key = Key("", "", node, "", application)
    try:
        client.request(GENERIC_KIND, key, GENERIC_PAYLOAD_FIELD, _PROBE, cls="data", timeout=timeout)
    except errors.NotImplementedByServer:
        return "go"
    except errors.Timeout:
        return "?"
    except errors.AriProxyError as e:
        return "python" if "unknown ARI operation" in str(e) else "?"
    return "python"


def cmd_nodes(args, out, style):
    """``ariproxy nodes``: ping the cluster, list every proxy that answers (and what it runs)."""
    _check_token("application", args.app)
    with connect(args) as client:
        found = _wait_nodes(client, args)
        everyone = client.nodes()
        probes = [gevent.spawn(implementation, client, n.node, n.application, args.timeout) for n in found]
        gevent.joinall(probes)
        impls = [p.value or "?" for p in probes]
    if args.json:
        _write(out, dumps([{"node": n.node, "application": n.application, "implementation": impl,
                            "last_seen": round(n.age, 3)} for n, impl in zip(found, impls)]).decode())
    else:
        if found:
            _write(out, style("%-20s %-20s %-8s %s" % ("NODE", "APPLICATION", "IMPL", "LAST SEEN"), "bold"))
        for n, impl in zip(found, impls):
            _write(out, "%-20s %-20s %-8s %.1fs ago" % (n.node, n.application, impl, n.age))
    if not found:
        where = mask_url(nats_url_from(args))
        if args.app and everyone:
            raise Failure("no proxy of application %s answered on %s within %.1fs (other applications: %s)"
                          % (args.app, where, args.wait, ", ".join(sorted({n.application for n in everyone}))))
        raise Failure("no proxy answered a ping on %s within %.1fs (prefix %s)" % (where, args.wait, args.prefix))
    return EXIT_OK


def cmd_events(args, out, style):
    """``ariproxy events``: print events as they arrive (one line each, or JSON lines)."""
    for name in args.type or ():
        try:
            check_event_type(name)
        except errors.ValidationError as e:
            raise UsageError(str(e)) from None
    _check_token("application", args.app)
    _check_token("node", args.node)
    _check_token("dialog", args.dialog)
    with connect(args) as client:
        key = None
        if args.dialog or args.node:
            key = Key("", "", args.node or "", args.dialog or "", args.app or "")
        sub = client.subscribe(*(args.type or ()), key=key)
        client.bus.flush()
        what = "dialog %s" % args.dialog if args.dialog else "application %s" % (args.app or "(all)")
        sys.stderr.write("ariproxy: events of %s%s on %s (Ctrl-C stops)\n"
                         % (what, " on node %s" % args.node if args.node else "",
                            mask_url(nats_url_from(args))))
        sys.stderr.flush()
        deadline = None if not args.duration else time.monotonic() + args.duration
        seen = 0
        while args.count is None or seen < args.count:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                break
            try:
                event = sub.get(timeout=remaining)
            except errors.Timeout:
                break
            if args.node and event.asterisk_id and event.asterisk_id != args.node:
                continue
            seen += 1
            _write(out, event.raw.decode("utf-8", "replace") if args.json else format_event(event, style))
    return EXIT_OK


class CallResult:
    """How a call ended: ``outcome`` (answered, busy, no answer, failed), the channel, its events."""

    EXIT = {"answered": EXIT_OK, "busy": EXIT_BUSY, "no answer": EXIT_NO_ANSWER, "failed": EXIT_CALL_FAILED}

    def __init__(self, outcome, channel=None, events=(), detail=""):
        self.outcome = outcome
        self.channel = channel
        self.events = list(events)
        self.detail = detail

    @property
    def exit_status(self):
        return self.EXIT[self.outcome]

    def __repr__(self):
        return "<CallResult %s%s, %d events>" % (self.outcome, " (%s)" % self.detail if self.detail else "",
                                                 len(self.events))


_BUSY_CAUSES = {17}
_NO_ANSWER_CAUSES = {18, 19, 21}


def follow_call(client, endpoint, play=None, answer=False, hangup=True, wait_end=False, timeout=30.0,
                on_event=None, app=None, ring_timeout=20):
    """Originate ``endpoint`` into the client's application and follow the call to its end.

    Once the channel is in Stasis (answered): ``answer`` answers it (an
    application's first step), ``play`` plays that media and waits for the
    playback to finish, then ``hangup`` hangs up, unless ``wait_end`` waits for
    the far end to hang up instead.  ``on_event(event)`` sees every event of the
    call (channel and playbacks) as it arrives.  Returns a :class:`CallResult`;
    blocks up to ``timeout`` seconds for the whole call.
    """
    calls = client.subscribe()          # the application's events, before the request: nothing missed
    events, playbacks = [], set()
    state = {"answered": False, "dialstatus": "", "cause": None, "ended": False}
    deadline = time.monotonic() + timeout
    channel = None

    def ours(event):
        if channel is None:
            return False
        for key in event.keys():
            if (key.kind == "channel" and key.id == channel.id) or (key.kind == "playback" and key.id in playbacks):
                return True
        return False

    def take(event):
        if not ours(event):
            return
        events.append(event)
        if on_event is not None:
            on_event(event)
        if event.type == "StasisStart":
            state["answered"] = True
        elif event.type == "Dial" and event.get("dialstatus"):
            state["dialstatus"] = event.get("dialstatus")
        elif event.type == "ChannelDestroyed" and (event.get("channel") or {}).get("id") == channel.id:
            state["cause"] = event.get("cause")
            state["ended"] = True

    def pump(until, limit=None):
        """Read the call's events until ``until()`` or the deadline; False on timeout."""
        end = deadline if limit is None else min(deadline, time.monotonic() + limit)
        while not until():
            remaining = end - time.monotonic()
            if remaining <= 0:
                return False
            try:
                take(calls.get(timeout=remaining))
            except errors.Timeout:
                return until()
        return True

    try:
        channel = client.channels.originate(endpoint=endpoint, app=app, timeout=ring_timeout)
        # backlog: events that came before ``channel`` was known
        for event in calls.drain():
            take(event)
        pump(lambda: state["answered"] or state["ended"])
        if not state["answered"]:
            return _ended_result(state, channel, events)
        if answer:
            channel.answer()
        if play:
            playback = channel.play(play)
            playbacks.add(playback.id)     # its events are still queued in ``calls``: none is missed
            pump(lambda: state["ended"] or any(e.type == "PlaybackFinished" and e.get("playback", {}).get("id")
                                               == playback.id for e in events))
        if wait_end:
            pump(lambda: state["ended"])
        elif hangup and not state["ended"]:
            try:
                channel.hangup()
            except errors.NotFound:
                pass
            pump(lambda: state["ended"], limit=10.0)
        if not state["ended"] and wait_end:
            return CallResult("answered", channel, events, "still up after %.0fs" % timeout)
        return CallResult("answered", channel, events)
    finally:
        calls.close()


def _ended_result(state, channel, events):
    cause, status = state["cause"], (state["dialstatus"] or "").upper()
    if status == "BUSY" or cause in _BUSY_CAUSES:
        return CallResult("busy", channel, events, "dial status %s, cause %s" % (status or "-", cause))
    if status in ("NOANSWER", "CANCEL") or cause in _NO_ANSWER_CAUSES:
        return CallResult("no answer", channel, events, "dial status %s, cause %s" % (status or "-", cause))
    if not state["ended"]:
        return CallResult("failed", channel, events, "no StasisStart or hangup before the timeout")
    return CallResult("failed", channel, events, "dial status %s, cause %s" % (status or "-", cause))


def cmd_call(args, out, style):
    """``ariproxy call ENDPOINT``: originate through the proxy, print the call's events, exit by outcome."""
    if not args.app and not os.environ.get("ARI_APPLICATION"):
        raise UsageError("call needs an application: --app NAME (or ARI_APPLICATION)")
    if "/" not in args.endpoint:
        raise UsageError("endpoint %r: expected TECH/RESOURCE, e.g. Local/1000@default or PJSIP/alice"
                         % args.endpoint)
    _check_token("application", args.app)
    with connect(args) as client:
        if not _wait_nodes(client, args, wait=2.0, first=True) and not client.nodes(client.application):
            raise Failure("no proxy of application %s answered a ping on %s: nothing can place the call"
                          % (client.application, mask_url(nats_url_from(args))))
        try:
            result = follow_call(client, args.endpoint, play=args.play, wait_end=args.wait_end,
                                 timeout=args.call_timeout, ring_timeout=args.ring_timeout,
                                 on_event=lambda e: _write(out, format_event(e, style)))
        except errors.AriProxyError as e:
            raise Failure("call %s failed: %s: %s" % (args.endpoint, type(e).__name__, e)) from None
    colour = "green" if result.outcome == "answered" else "red"
    sys.stderr.write("ariproxy: call %s: %s%s\n" % (result.channel.id if result.channel else "-",
                                                     Style(sys.stderr)(result.outcome, colour, "bold"),
                                                     " (%s)" % result.detail if result.detail else ""))
    return result.exit_status


def _json_arg(text, what):
    try:
        return loads(text)
    except Exception as e:
        raise UsageError("%s is not valid JSON (%s): %r" % (what, e, text[:80])) from None


def cmd_request(args, out, style):
    """``ariproxy request KIND``: one raw protocol request; prints the reply as JSON."""
    kind = args.kind
    spec = KINDS.get(kind)
    if spec is None and kind != GENERIC_KIND and not args.cls:
        close = difflib.get_close_matches(kind, list(KINDS) + [GENERIC_KIND], n=3)
        raise UsageError("unknown request kind %r%s (or give --class to send it anyway)"
                         % (kind, ": did you mean %s?" % " or ".join(close) if close else ""))
    key = Key()
    if args.key:
        raw = _json_arg(args.key, "--key")
        if not isinstance(raw, dict):
            raise UsageError("--key must be a JSON object like {\"kind\":\"channel\",\"id\":\"ID\"}")
        try:
            key = Key.from_dict(raw) or Key()
        except errors.ProtocolError as e:
            raise UsageError("--key: %s" % e) from None
    if args.node:
        key = key._replace(node=args.node)
    if args.app and not key.app:
        key = key._replace(app=args.app)
    payload = _json_arg(args.payload, "--payload") if args.payload else None
    field = None
    if payload is not None:
        field = spec.payload_field if spec is not None else None
        if kind == GENERIC_KIND:
            from .protocol.generic import GENERIC_PAYLOAD_FIELD
            field = GENERIC_PAYLOAD_FIELD
        if field is None:
            raise UsageError("request kind %s takes no payload" % kind)
    cls = args.cls
    if cls is None and kind == GENERIC_KIND:
        cls = "data" if key.id == "" else "command"
    with connect(args, application="") as client:
        try:
            resp = client.request(kind, key, field, payload, cls=cls)
        except errors.Timeout as e:
            raise Failure("no proxy answered %s: %s" % (kind, e)) from None
        except errors.AriProxyError as e:
            _write(out, dumps({"error": str(e)}).decode())
            raise Failure("%s: %s" % (kind, e)) from None
    _write(out, resp.encode().decode("utf-8", "replace"))
    return EXIT_OK


def cmd_check(args, out, style):
    """``ariproxy check``: exit 0 only when the proxy answers a ping and a data request (AsteriskInfo)."""
    _check_token("application", args.app)
    _check_token("node", args.node)
    with connect(args) as client:
        found = _wait_nodes(client, args, node=args.node or None, wait=args.wait, first=True)
        if args.node:
            found = [n for n in found if n.node == args.node]
        if not found:
            what = " ".join(filter(None, ["application %s" % args.app if args.app else "",
                                          "node %s" % args.node if args.node else ""])) or "any proxy"
            raise Failure("not ready: no answer to a ping from %s on %s within %.1fs"
                          % (what, mask_url(nats_url_from(args)), args.wait))
        failed = []
        for n in found:
            started = time.monotonic()
            scoped = client.new(n.application)
            try:
                info = scoped.asterisk.info(node=n.node)    # a data request to exactly that proxy
            except errors.AriProxyError as e:
                failed.append("%s/%s: %s" % (n.application, n.node, e))
                continue
            finally:
                scoped.close()
            system = (info or {}).get("system", {}) if isinstance(info, dict) else {}
            _write(out, "ok: node %s application %s answered ping and AsteriskInfo in %.0f ms%s"
                   % (n.node, n.application, (time.monotonic() - started) * 1000,
                      " (Asterisk %s)" % system["version"] if system.get("version") else ""))
        if failed:
            raise Failure("not ready: " + "; ".join(failed))
    return EXIT_OK


def cmd_shell(args, out, style):
    """``ariproxy shell``: an interactive prompt (IPython when installed) with ``client`` connected."""
    from .interactive import run_shell
    return run_shell(nats_url=nats_url_from(args), application=args.app, prefix=args.prefix,
                     timeout=args.timeout)


# -- parsing -----------------------------------------------------------------------------

def _common(parser, top=False):
    default = None if top else argparse.SUPPRESS
    parser.add_argument("--nats-url", metavar="URL", default=default,
                        help="NATS URL(s), comma separated (default: $NATS_URI, $NATS_URL, $MESSAGEBUS_URL, "
                             "else %s)" % DEFAULT_URL)
    parser.add_argument("--prefix", default="ari." if top else argparse.SUPPRESS,
                        help="subject prefix (default ari.)")
    parser.add_argument("--timeout", type=float, default=2.0 if top else argparse.SUPPRESS, metavar="SECONDS",
                        help="seconds to wait for each reply (default 2)")
    parser.add_argument("-a", "--app", default=os.environ.get("ARI_APPLICATION") if top else argparse.SUPPRESS,
                        metavar="APP", help="ARI application (default: $ARI_APPLICATION; none: every application)")


def build_parser():
    """The ``ariproxy`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="ariproxy", description="Operate and debug ari-proxy servers on NATS (Python or Go).",
        epilog="Exit status: 0 ok, 1 failure (NATS unreachable, no proxy, request failed), 2 bad input; "
               "call: 0 answered, 3 busy, 4 no answer, 5 failed.")
    _common(parser, top=True)
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("nodes", help="list every proxy answering a ping (node, application, last seen)")
    _common(p)
    p.add_argument("--json", action="store_true", help="one JSON list")
    p.add_argument("--wait", type=float, default=1.0, metavar="SECONDS", help="how long to collect answers (1)")
    p.set_defaults(func=cmd_nodes)

    p = sub.add_parser("events", help="print events as they happen")
    _common(p)
    p.add_argument("--node", help="only events of this node (Asterisk entity id)")
    p.add_argument("--dialog", help="only events of this dialog")
    p.add_argument("--type", action="append", metavar="TYPE", help="only events of this type (repeatable)")
    p.add_argument("--json", action="store_true", help="the events' JSON, one per line")
    p.add_argument("--count", type=int, metavar="N", help="stop after N events")
    p.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this long")
    p.set_defaults(func=cmd_events)

    p = sub.add_parser("call", help="originate a call through the proxy and follow it to its end")
    _common(p)
    p.add_argument("endpoint", help="TECH/RESOURCE, e.g. Local/1000@default or PJSIP/alice")
    p.add_argument("--play", metavar="MEDIA", help="once answered, play this (e.g. sound:hello-world)")
    p.add_argument("--wait", dest="wait_end", action="store_true",
                   help="wait for the far end to hang up (default: hang up after answering / playing)")
    p.add_argument("--call-timeout", type=float, default=60.0, metavar="SECONDS",
                   help="give up on the call after this long (60)")
    p.add_argument("--ring-timeout", type=int, default=20, metavar="SECONDS",
                   help="seconds the endpoint may ring before the call counts as not answered (20)")
    p.set_defaults(func=cmd_call, wait=2.0)

    p = sub.add_parser("request", help="send one raw protocol request and print the reply")
    _common(p)
    p.add_argument("kind", help="request kind, e.g. AsteriskInfo, ChannelList, ChannelHangup, AriCall")
    p.add_argument("--key", metavar="JSON", help='the key, e.g. \'{"kind":"channel","id":"ID"}\'')
    p.add_argument("--payload", metavar="JSON", help="the payload object of the kind's payload field")
    p.add_argument("--node", help="send to this node (Asterisk entity id)")
    p.add_argument("--class", dest="cls", choices=("get", "get-list", "data", "command", "create"),
                   help="subject class (default: from the kinds table)")
    p.set_defaults(func=cmd_request)

    p = sub.add_parser("check", help="exit 0 only when the proxy answers a ping and a data request")
    _common(p)
    p.add_argument("--node", help="the node that must answer")
    p.add_argument("--wait", type=float, default=2.0, metavar="SECONDS", help="how long to wait for a ping answer")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("shell", help="interactive Python (IPython if installed) with a connected client")
    _common(p)
    p.set_defaults(func=cmd_shell)
    return parser


def main(argv=None, out=None):
    """The ``ariproxy`` command; returns the exit status."""
    out = out or sys.stdout
    parser = build_parser()
    try:
        args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as e:
        return EXIT_USAGE if e.code not in (0, None) else EXIT_OK
    if args.version:
        from . import __version__
        _write(out, "ariproxy %s" % __version__)
        return EXIT_OK
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    if args.timeout <= 0:
        sys.stderr.write("ariproxy: --timeout must be positive\n")
        return EXIT_USAGE
    try:
        return args.func(args, out, Style(out))
    except UsageError as e:
        sys.stderr.write("ariproxy: %s\n" % e)
        return EXIT_USAGE
    except Failure as e:
        sys.stderr.write("ariproxy: %s\n" % e)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 128 + signal.SIGINT
    except BrokenPipeError:
        return EXIT_OK


def console_main():
    """Console-script entry point (library warnings to stderr, plainly)."""
    import logging
    logging.basicConfig(level=logging.ERROR, format="ariproxy: %(levelname)s %(name)s: %(message)s")
    sys.exit(main())


if __name__ == "__main__":
    console_main()
