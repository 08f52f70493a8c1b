"""Python server serving Go clients: the recorded Go requests replayed byte for byte.

One nats-server, one simulated Asterisk (entity id ``00:11:22:33:44:55``, the
recordings' node) and one Python ari-proxy server (app ``testapp``) for the
whole module.  Every request the Go client sent in the recorded scenarios
(main, extra, crash, real retargeted onto this node, then misc which takes
ARI down) is published on its recorded subject with its recorded bytes, in
recorded order, so the entities a request needs were created by the earlier
recorded steps (the simulator is seeded first with what the Go recording's
fake Asterisk already had: endpoints, a device state, a mailbox, a config
object).  Each Python reply is then held against the Go reply:

- a Go success must be a Python success with the same shape
  (``tests.support.gowire.shape_diff``: same fields, same JSON types, Go
  timestamp layout, integers) and ``data``/``key``/``keys`` where Go has them;
- a Go error must be a Python error of the same class (``error_from_text``),
  and a 404 must keep Go's text ``Non-2XX response: 404 <reason>``: the Go
  client hands the server's string to the application unchanged
  (``errors.New(resp.Error)`` in ari-proxy's ``proxy.Response.Err``,
  https://github.com/CyCoreSystems/ari-proxy/blob/master/proxy/types.go ; the
  ARI library builds that text as ``"Non-2XX response: " + resp.Status``,
  https://github.com/CyCoreSystems/ari/blob/master/client/native/request.go ), and
  ``proxy.Response.IsNotFound`` only matches the exact text ``Not found``, so a
  Go application recognises a 404 by that text;
- where the Go server sent nothing (it crashed, or could not decode) the
  Python server must answer with an error (or, for a valid request, with the
  shape kinds.json records for that kind) and keep serving.

Known, intended divergences (Go defects not copied, differences of the ARI
backend) are listed in ``DIVERGENCES`` with the reason.
"""
import json

import pytest

from ariproxy import errors
from ariproxy.protocol import KINDS
from tests.support import gowire
from tests.support.wait import wait_for

APP = "testapp"
NODE = "00:11:22:33:44:55"
SCENARIOS = ("main", "extra", "crash", "real", "misc")
RETARGET = {"real": gowire.Retarget({"goref-wire": APP, "02:fc:00:00:00:01": NODE}),
            # misc was recorded against the second Go server
            "misc": gowire.Retarget({"66:77:88:99:aa:bb": NODE}),
            # Go's fake Asterisk had a loadable res_foo.so; the simulator knows only real
            # modules: app_echo.so is unloaded first (see _hooks) and stands in for it.
            "main": gowire.Retarget({"res_foo.so": "app_echo.so"}),
            # res_ari.so cannot be reloaded on a real Asterisk (409); res_pjsip.so can.
            "main-0042-AsteriskModuleReload": gowire.Retarget({"res_ari.so": "res_pjsip.so"}),
            # Go's fake Asterisk had a French sound; the simulator's are English.
            "main-0473-SoundList": gowire.Retarget({'"lang":"fr"': '"lang":"en"'}),
            # Asterisk dials only a channel in state Down (made by ChannelCreate), not the
            # answered chan-1 of the recording: dial-1 is created first (see _hooks).
            "main-0176-ChannelDial": gowire.Retarget({'"id":"chan-1"': '"id":"dial-1"'}),
            "main-0505-ChannelDial": gowire.Retarget({'"id":"chan-1"': '"id":"dial-2"'})}

# Fields Go's fake Asterisk sent that a real Asterisk 22 does not (wire_real shows it):
# their absence is the ARI backend's, not the server's.
REAL_ASTERISK_OMITS = {
    "$.data.sound.text": "real.SoundData has no text",
}

# exchange id -> (how the Python reply may differ from the Go one, why).  Modes:
# "error-or-success" (the ARI backend decides), "error-any" (an error of another class),
# "any-reply" (Go sent nothing), "extra-keys" (a Go defect not copied).
DIVERGENCES = {
    "main-0039-AsteriskModuleLoad": (
        "error-or-success", "loading a loaded module: Go's fake Asterisk refused it (409); a real one may not"),
    "main-0299-ChannelStageOriginate": (
        "error-or-success", "the Go client's StageExternalMedia sends kind ChannelStageOriginate with a "
        "channel_external_media payload; Go answers 'OriginateRequest is mandatory', Python stages the "
        "external media"),
    "main-0384-BridgeRecord": (
        "error-or-success", "Go's fake Asterisk refused the second bridge recording (400)"),
    "main-0510-ChannelDial": (
        "any-reply", "the duration \"5s\": Go cannot decode it and sends nothing; Python answers"),
    "real-0132-ChannelOriginate": (
        "error-or-success", "an unknown channel technology: a real Asterisk answers 500, the simulator may not"),
    "real-0127-ChannelOriginate": (
        "error-or-success", "Local/s@goref-no-such-context: a real Asterisk creates and at once destroys it"),
    "main-0455-MailboxList": (
        "extra-keys", "Go's MailboxList answers without keys (a Go defect); Python lists the mailboxes"),
    "main-0434-DeviceStateUpdate": (
        "error-any", "a device state not controlled by Stasis: Go's fake Asterisk answered 404, the ARI spec "
        "(and the simulator) 409 'Uncontrolled device specified'"),
    "misc-0002-AsteriskInfo": (
        "error-any", "ARI down: Go relays its HTTP client's 'connection refused', Python answers "
        "'ARI connection is down' at once"),
    "misc-0009-AsteriskInfo": (
        "error-any", "ARI down: as misc-0002"),
}


def _server_side(x):
    """Exchanges aimed at this server (or at every server)."""
    rt = RETARGET.get(x.scenario)
    app, node = x.node_app
    if rt is not None:
        app, node = (rt.text(app) if app else app), (rt.text(node) if node else node)
    return app in (None, APP) and node in (None, NODE)


REPLAYED = gowire.exchange_ids(SCENARIOS)


@pytest.fixture(scope="module")
def stack():
    gowire.go_wire_path()  # skip the module when the recordings are absent
    with gowire.ServerStack(app=APP, node=NODE) as s:
        yield s


@pytest.fixture(scope="module")
def replayer(stack):
    return gowire.Replayer(stack.bus, SCENARIOS, retarget=RETARGET, before=_hooks(stack))


def _hooks(stack):
    """What some recorded steps need first: a module to load, a channel in state Down to dial,
    and (misc) the ARI side down, then up again, as in the recording."""
    def ari_down(x):
        stack.ari_down()

    def ari_up(x):
        stack.ari_up()

    def unload_stand_in(x):
        stack.ari("DELETE", "/asterisk/modules/app_echo.so")

    def channel_to_dial(name):
        def create(x):
            r = stack.ari("POST", "/channels/create", params={"endpoint": "PJSIP/bob", "app": APP, "channelId": name})
            assert r.status_code < 300, "creating %s to dial: %s %s" % (name, r.status_code, r.text)
        return create

    return {"main-0036-AsteriskModuleLoad": unload_stand_in,
            "main-0176-ChannelDial": channel_to_dial("dial-1"),
            "main-0505-ChannelDial": channel_to_dial("dial-2"),
            "misc-0002-AsteriskInfo": ari_down, "misc-0016-AsteriskInfo": ari_up}


def _reference(x):
    """The Go reply to compare with: the recorded one; when Go sent nothing, kinds.json's
    example for a well-formed request of a known kind (None: the request is malformed,
    the Python server must answer with an error)."""
    if x.replies:
        return x.replies[0].payload
    if x.kind in gowire.known_kinds() and isinstance(x.key, dict):
        return gowire.load_kinds_json()[x.kind]["example_response"]
    return None


def _error_class(text):
    return type(errors.error_from_text(text)).__name__


@pytest.mark.parametrize("xid", REPLAYED)
def test_python_server_answers_recorded_go_request(replayer, xid):
    x = replayer.exchange(xid)
    got = replayer.result(xid)
    label = "%s (step %r) %s" % (xid, x.step, got.subject)
    divergence = DIVERGENCES.get(xid, (None, ""))[0]

    if not _server_side(x):
        assert got.replies == [], "%s: a request for another app/node was answered: %r" % (label, got.replies)
        return
    assert got.replies, "%s: no reply from the Python server to %s" % (label, got.raw[:300])
    py = got.reply
    assert isinstance(py, dict), "%s: reply is not a JSON object: %r" % (label, py)
    assert isinstance(py.get("error"), str), "%s: reply without an error string: %r" % (label, py)

    if divergence == "any-reply":
        return
    go = _reference(x)
    if go is None:
        # Go sent nothing (it crashed on a null key, or could not decode): Python must say why.
        assert py["error"], "%s: Go failed on %s; Python must answer an error, got %r" % (label, got.raw, py)
        return

    if go.get("error"):
        if divergence == "error-or-success" and not py["error"]:
            return
        assert py["error"], "%s: Go answered error %r, Python succeeded: %r" % (label, go["error"], py)
        if divergence == "error-any":
            return
        assert _error_class(py["error"]) == _error_class(go["error"]), (
            "%s: Go error %r reads as %s, Python's %r as %s"
            % (label, go["error"], _error_class(go["error"]), py["error"], _error_class(py["error"])))
        if "Non-2XX response: 404" in go["error"]:
            # Asterisk's reason phrase varies ("404 Variable Not Found" on a real one)
            assert "Non-2XX response: 404" in py["error"], (
                "%s: a Go client sees a 404 as the text 'Non-2XX response: 404 ...'; Python sent %r"
                % (label, py["error"]))
        return

    if divergence == "error-or-success" and py["error"]:
        return
    assert not py["error"], "%s: Go succeeded (%s), Python answered error %r" % (
        label, gowire.clip(go), py["error"])
    extra = ("keys",) if divergence == "extra-keys" else ()
    spec = KINDS.get(x.kind)
    diffs = gowire.envelope_diff(go, py, allow_extra=extra, is_list=bool(spec and spec.is_list))
    for d in gowire.shape_diff(go, py):
        d.note = d.note or d.path in REAL_ASTERISK_OMITS
        diffs.append(d)
    report = gowire.ShapeReport(diffs, label)
    assert report.ok, "%s\nGo:     %s\nPython: %s" % (report, gowire.clip(go, 400), gowire.clip(py, 400))


def test_every_go_kind_is_replayed_against_the_python_server():
    if not REPLAYED:
        gowire.go_wire_path()   # skips, naming the missing folder
        pytest.skip("recordings absent")
    kinds = {k for k, _, _ in gowire.load_kinds_tsv()}
    replayed = {gowire.kind_of(xid) for xid in REPLAYED}
    two_only = {x.kind for x in gowire.exchanges(("two",))} - replayed
    assert kinds - replayed - two_only == set()


# -- events ---------------------------------------------------------------------

EVENT_NAMES = sorted(gowire.load_events_json()) if gowire.recordings_available() else []


@pytest.fixture(scope="module")
def replayed(stack, replayer):
    """Every recorded request replayed, plus the events the recording's fake Asterisk sent
    unprompted (a subscribed device state changing), and the stream settled."""
    replayer.replay_all()
    for method, path, params in (
            ("POST", "/applications/%s/subscription" % APP, {"eventSource": "deviceState:Stasis:ev-device"}),
            ("PUT", "/deviceStates/Stasis:ev-device", {"deviceState": "INUSE"}),
            # a subscribed, empty bridge deleted: BridgeDestroyed (Asterisk sends none for an
            # unsubscribed bridge, nor for one whose channels left: the recording's br-1)
            ("POST", "/bridges/ev-br", {"type": "mixing"}),
            ("POST", "/applications/%s/subscription" % APP, {"eventSource": "bridge:ev-br"}),
            ("DELETE", "/bridges/ev-br", {})):
        r = stack.ari(method, path, params=params)
        assert r.status_code < 300, (path, r.status_code, r.text)
    # Asterisk sends BridgeCreated only to subscribe-all applications, which a server is
    # not; sent here as Go's fake Asterisk did, for br-3, bound to dialog dlg-3 in main.
    r = stack.ari("GET", "/bridges/br-3")
    assert r.status_code == 200, (r.status_code, r.text)
    stack.sim.emit_event("BridgeCreated", {"bridge": r.json()}, app=APP)
    # events of one app arrive in order: once the last provoked ones are in, so is the replay's
    for event_type, dialog in (("DeviceStateChanged", None), ("BridgeDestroyed", None), ("BridgeCreated", None),
                               ("BridgeCreated", "dlg-3")):
        wait_for(lambda: stack.events_of(event_type, dialog), 5, message="%s published" % event_type)
    return stack


def _best_match(recorded, candidates):
    """The report of the candidate closest to the recorded shape (fewest errors)."""
    best = None
    for subject, payload in candidates:
        report = gowire.ShapeReport(gowire.shape_diff(recorded, payload), subject)
        if best is None or len(report.errors) < len(best.errors):
            best = report
        if report.ok:
            break
    return best


@pytest.mark.parametrize("name", EVENT_NAMES)
def test_python_events_carry_every_field_of_go_events(replayed, name):
    cls, event_type = name.split(":")
    rec = gowire.load_events_json()[name]
    recorded = rec["payload"]
    prefix = "ari.%s." % cls
    got = [(s, p) for s, p in replayed.events
           if s.startswith(prefix) and isinstance(p, dict) and p.get("type") == event_type]
    if not got:
        pytest.skip("the simulator sent no %s during the replayed scenarios" % name)
    for subject, payload in got:
        assert payload["application"] == APP and payload["asterisk_id"] == NODE, (subject, payload)
        assert gowire.GO_TIMESTAMP.match(payload["timestamp"]), (subject, payload["timestamp"])
        if cls == "dialogevent":
            assert payload.get("dialog") == subject.split(".", 2)[2], (subject, payload.get("dialog"))
        else:
            assert subject == "ari.event.%s.%s" % (APP, NODE), subject
    # events of one type differ by what they reference (a global ChannelVarset has no
    # channel): at least one published event has every field the Go event has
    report = _best_match(recorded, got)
    assert report.ok, "%s\nGo:     %s" % (report, gowire.clip(recorded, 400))


# -- Go defects the Python server must not copy ----------------------------------

def _channel_model(stack, channel_id):
    r = stack.ari("GET", "/channels/%s" % channel_id)
    assert r.status_code == 200, (r.status_code, r.text)
    return r.json()


def test_events_without_entities_are_published(replayed):
    """Go never publishes ApplicationReplaced (it has no entity key); Python does."""
    replayed.sim.emit_event("ApplicationReplaced", {"application": APP}, app=APP)
    events = wait_for(lambda: replayed.events_of("ApplicationReplaced"), 5,
                      message="ApplicationReplaced published")
    assert events[0]["application"] == APP and events[0]["asterisk_id"] == NODE


@pytest.mark.parametrize("event_type", ["ChannelToneDetected", "SomeFutureEvent"])
def test_unknown_event_types_are_forwarded_and_the_server_keeps_serving(replayed, event_type):
    """ChannelToneDetected (unknown to Go's ARI library) crashes the Go server; Python forwards
    it, and an event type nobody knows yet, with its fields."""
    channel_id = "tone-" + event_type
    r = replayed.ari("POST", "/channels/create", params={"endpoint": "PJSIP/bob", "app": APP,
                                                         "channelId": channel_id})
    assert r.status_code < 300, r.text
    replayed.sim.emit_event(event_type, {"channel": _channel_model(replayed, channel_id), "extra": {"n": 1}},
                            app=APP)
    events = wait_for(lambda: replayed.events_of(event_type), 5, message="%s forwarded" % event_type)
    assert events[0]["channel"]["id"] == channel_id and events[0]["extra"] == {"n": 1}
    msg = replayed.bus.request("ari.data.%s.%s" % (APP, NODE), b'{"kind":"AsteriskInfo","key":{}}', timeout=3)
    assert json.loads(bytes(msg.data))["error"] == ""


def test_channel_language_and_protocol_id_are_kept(replayed):
    """Go's re-encoding drops channel ``language`` and ``protocol_id``; Python keeps what ARI sent."""
    sent = [p["channel"] for s, p in replayed.events
            if isinstance(p, dict) and p.get("type") == "StasisStart" and "channel" in p]
    assert sent, "no StasisStart published"
    for field in ("language", "protocol_id"):
        assert all(field in ch for ch in sent), "%s dropped from %s" % (
            field, [ch["id"] for ch in sent if field not in ch])


def test_mailbox_list_returns_keys(replayer):
    """Go's MailboxList answers ``{"error":""}`` with no keys; Python lists the mailboxes."""
    reply = replayer.result("main-0455-MailboxList").reply
    assert {"kind": "mailbox", "id": "1000@default", "node": NODE, "app": APP} in reply.get("keys", []), reply


@pytest.mark.parametrize("xid", ["main-0470-SoundList", "main-0473-SoundList"])
def test_sound_list_keys_have_ids(replayer, xid):
    """Go's SoundList keys lack ``id``; Python's name the sound."""
    reply = replayer.result(xid).reply
    assert reply.get("keys"), reply
    assert all(k.get("kind") == "sound" and k.get("id") for k in reply["keys"]), reply["keys"]


def test_null_key_is_answered_and_the_server_keeps_serving(replayer):
    """``{"kind":"ChannelAnswer","key":null}`` crashes the Go server; Python answers an error."""
    crash = replayer.result("crash-0006-ChannelAnswer").reply
    assert crash and crash["error"], crash
    after = replayer.result("crash-0008-AsteriskInfo").reply
    assert after and after["error"] == "" and "asterisk" in after["data"], after


@pytest.mark.parametrize("raw", ['{"kind":"","key":null}', "{}"], ids=["go-client-ping", "misc-ping"])
def test_recorded_pings_get_go_shaped_announcements(stack, raw):
    """Pings as recorded (the Go client's, and the bare ``{}`` of misc) make the Python server
    announce itself with the Go announcement's fields."""
    recorded = json.loads(gowire.load_ping_announce()["ari.announce"]["raw"])
    got = []
    sub = stack.bus.subscribe("ari.announce", lambda m: got.append(json.loads(bytes(m.data))))
    try:
        stack.bus.flush()
        stack.bus.publish("ari.ping", raw.encode())
        wait_for(lambda: any(a.get("node") == NODE for a in got), 5, message="announcement")
    finally:
        sub.unsubscribe()
    mine = next(a for a in got if a.get("node") == NODE)
    assert mine["application"] == APP
    report = gowire.ShapeReport(gowire.shape_diff(recorded, mine), "announcement")
    assert report.ok, str(report)
