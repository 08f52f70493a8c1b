"""The client against the Go recordings: what it sends, and what it makes of what Go sends.

A stand-in for a Go ari-proxy server (a real NATS subscriber, no code of
ours) answers every request with the recorded Go reply and announces the
recorded node.  For every Go kind the client method that sends it is called
with the recorded arguments; the request it puts on the wire must have the
recorded shape (kind, key fields, payload field names and JSON types,
subject), and the recorded reply must come back as the client's normal
objects.  Recorded Go error strings become the matching exceptions; the
generic kind answered ``Not implemented`` (as a Go server does) becomes a
clear NotImplementedByServer.  Every recorded event is delivered and routed.
"""
import pytest

from ariproxy import errors
from ariproxy.bus import Bus
from ariproxy.client import Client, Handle, Staged
from ariproxy.jsonutil import dumps, loads
from ariproxy.protocol import Key
from tests.support import gowire
from tests.support.wait import wait_for

NODE = "00:11:22:33:44:55"
APP = "testapp"
SKIP_KINDS = ("NoSuchKind", "<empty>")


class GoStandIn:
    """Answers requests on ``ari.>`` with recorded Go replies; announces NODE/APP on ping."""

    def __init__(self, url, kinds):
        self.kinds = kinds
        self.captured = []
        self.override = {}
        self.bus = Bus(url, name="go-stand-in")
        self.bus.connect()
        self.bus.subscribe("ari.>", self._on_message)
        self.bus.flush()

    def _on_message(self, msg):
        cls = msg.subject.split(".")[1]
        if cls == "ping":
            self.bus.publish("ari.announce", dumps({"node": NODE, "application": APP}))
            return
        if cls not in ("get", "data", "command", "create") or not msg.reply:
            return
        req = loads(msg.data)
        self.captured.append((msg.subject, req))
        kind = req.get("kind")
        if kind in self.override:
            reply = self.override[kind]
        elif kind in self.kinds:
            reply = self.kinds[kind]["example_response_raw"].encode()
        else:
            reply = b'{"error":"Not implemented"}'
        self.bus.publish(msg.reply, reply)

    def last(self, kind):
        for subject, req in reversed(self.captured):
            if req.get("kind") == kind:
                return subject, req
        raise AssertionError("no %s request was sent (sent: %s)" % (kind, [r.get("kind") for _, r in self.captured]))

    def close(self):
        self.bus.close()


@pytest.fixture(scope="module")
def kinds_json():
    return gowire.load_kinds_json()


@pytest.fixture
def go(nats_server, kinds_json):
    stand_in = GoStandIn(nats_server.url, kinds_json)
    yield stand_in
    stand_in.close()


@pytest.fixture
def clients(nats_server, go):
    """(client without application, client of APP), both knowing the stand-in node."""
    plain = Client(url=nats_server.url, timeout=2.0, retries=0)
    app = Client(application=APP, url=nats_server.url, timeout=2.0, retries=0)
    wait_for(lambda: plain.nodes() and app.nodes(), 5.0)
    yield plain, app
    while _CHILDREN:
        _CHILDREN.pop().close()
    plain.close()
    app.close()


_CHILDREN = []  # clients of other applications made by _invoke (closed by the fixture)


def _secs(ns):
    return ns / 1e9


def _originate_args(r):
    return dict(endpoint=r["endpoint"], timeout=r.get("timeout", 0), caller_id=r.get("callerId", ""),
                context=r.get("context", ""), extension=r.get("extension", ""), priority=r.get("priority", 0),
                label=r.get("label", ""), app=r.get("app", ""), app_args=r.get("appArgs", ""),
                formats=r.get("formats", ""), channel_id=r.get("channelId"),
                other_channel_id=r.get("otherChannelId", ""), originator=r.get("originator", ""),
                variables=r.get("variables"))


def _record_args(p):
    o = p.get("options") or {}
    return dict(name=p["name"], format=o.get("Format", ""), max_duration=_secs(o.get("MaxDuration", 0)),
                max_silence=_secs(o.get("MaxSilence", 0)), if_exists=o.get("Exists", ""), beep=o.get("Beep", False),
                terminate_on=o.get("Terminate", ""))


def _snoop_args(p):
    o = p.get("options") or {}
    return dict(snoop_id=p["snoop_id"], app=o.get("app"), spy=o.get("spy", ""), whisper=o.get("whisper", ""),
                app_args=o.get("appArgs", ""))


def _media_args(p):
    o = p["options"]
    return dict(external_host=o["external_host"], format=o["format"], app=o["app"], channel_id=o["channelId"],
                encapsulation=o["encapsulation"], transport=o["transport"],
                connection_type=o["connection_type"], direction=o["direction"], variables=o["variables"])


# kind -> call(c, k, p): c the client, k the recorded key (dict), p the recorded payload object.
# h(c, k) is the handle for the recorded key.
def h(c, k):
    return c.handle(k)


CALLS = {
    "AsteriskInfo": lambda c, k, p: c.asterisk.info(node=k.get("node")),
    "AsteriskVariableSet": lambda c, k, p: c.variables.set(k["id"], p["value"], node=k["node"]),
    "AsteriskVariableGet": lambda c, k, p: c.variables.get(k["id"], node=k["node"]),
    "AsteriskModuleList": lambda c, k, p: c.modules.list(node=k.get("node")),
    "AsteriskModuleData": lambda c, k, p: h(c, k).data(),
    "AsteriskModuleGet": lambda c, k, p: h(c, k).get(),
    "AsteriskModuleLoad": lambda c, k, p: h(c, k).load(),
    "AsteriskModuleReload": lambda c, k, p: h(c, k).reload(),
    "AsteriskModuleUnload": lambda c, k, p: h(c, k).unload(),
    "AsteriskLoggingList": lambda c, k, p: c.logging.list(node=k.get("node")),
    "AsteriskLoggingCreate": lambda c, k, p: c.logging.create(k["id"], p["config"], node=k["node"]),
    "AsteriskLoggingData": lambda c, k, p: h(c, k).data(),
    "AsteriskLoggingGet": lambda c, k, p: h(c, k).get(),
    "AsteriskLoggingRotate": lambda c, k, p: h(c, k).rotate(),
    "AsteriskLoggingDelete": lambda c, k, p: h(c, k).delete(),
    "AsteriskConfigData": lambda c, k, p: h(c, k).data(),
    "AsteriskConfigUpdate": lambda c, k, p: h(c, k).update([(t["attribute"], t["value"]) for t in p["tuples"]]),
    "AsteriskConfigDelete": lambda c, k, p: h(c, k).delete(),
    "ApplicationList": lambda c, k, p: c.applications.list(node=k.get("node")),
    "ApplicationData": lambda c, k, p: h(c, k).data(),
    "ApplicationGet": lambda c, k, p: h(c, k).get(),
    "ApplicationSubscribe": lambda c, k, p: h(c, k).subscribe_source(p["event_source"]),
    "ApplicationUnsubscribe": lambda c, k, p: h(c, k).unsubscribe_source(p["event_source"]),
    "ChannelList": lambda c, k, p: c.channels.list(node=k.get("node")),
    "ChannelOriginate": lambda c, k, p: (
        h(c, k).originate(**_originate_args(p["originate_request"])) if k.get("kind") == "channel" else
        c.channels.originate(node=k.get("node"), dialog=k.get("dialog"), **_originate_args(p["originate_request"]))),
    "ChannelStageOriginate": lambda c, k, p: c.channels.stage_originate(node=k.get("node"), dialog=k.get("dialog"),
                                                                        **_originate_args(p["originate_request"])),
    "ChannelCreate": lambda c, k, p: c.channels.create(
        node=k.get("node"), dialog=k.get("dialog"), endpoint=p["channel_create_request"]["endpoint"],
        app=p["channel_create_request"]["app"], app_args=p["channel_create_request"].get("appArgs", ""),
        channel_id=p["channel_create_request"].get("channelId")),
    "ChannelExternalMedia": lambda c, k, p: c.channels.external_media(node=k.get("node"), dialog=k.get("dialog"),
                                                                      **_media_args(p)),
    "ChannelStageExternalMedia": lambda c, k, p: c.channels.stage_external_media(
        node=k.get("node"), dialog=k.get("dialog"), **_media_args(p)),
    "ChannelData": lambda c, k, p: h(c, k).data(),
    "ChannelGet": lambda c, k, p: h(c, k).get(),
    "ChannelAnswer": lambda c, k, p: h(c, k).answer(),
    "ChannelBusy": lambda c, k, p: h(c, k).busy(),
    "ChannelCongestion": lambda c, k, p: h(c, k).congestion(),
    "ChannelHangup": lambda c, k, p: h(c, k).hangup(p["reason"]),
    "ChannelRing": lambda c, k, p: h(c, k).ring(),
    "ChannelStopRing": lambda c, k, p: h(c, k).stop_ring(),
    "ChannelHold": lambda c, k, p: h(c, k).hold(),
    "ChannelStopHold": lambda c, k, p: h(c, k).unhold(),
    "ChannelMute": lambda c, k, p: h(c, k).mute(p.get("direction", "")),
    "ChannelUnmute": lambda c, k, p: h(c, k).unmute(p.get("direction", "")),
    "ChannelMOH": lambda c, k, p: h(c, k).moh(p["music"]),
    "ChannelStopMOH": lambda c, k, p: h(c, k).stop_moh(),
    "ChannelSilence": lambda c, k, p: h(c, k).silence(),
    "ChannelStopSilence": lambda c, k, p: h(c, k).stop_silence(),
    "ChannelSendDTMF": lambda c, k, p: h(c, k).send_dtmf(
        p["dtmf"], **{n.lower(): _secs(v) for n, v in p["options"].items()}),
    "ChannelVariableSet": lambda c, k, p: h(c, k).set_variable(p["name"], p["value"]),
    "ChannelVariableGet": lambda c, k, p: h(c, k).get_variable(p["name"]),
    "ChannelDial": lambda c, k, p: h(c, k).dial(p["caller"], _secs(p["timeout"])),
    "ChannelUserEvent": lambda c, k, p: h(c, k).user_event(p["UserEvent"]["eventname"],
                                                           p["UserEvent"]["userevent"]),
    "ChannelSubscribe": lambda c, k, p: h(c, k).app_subscribe(),
    "ChannelContinue": lambda c, k, p: h(c, k).continue_in_dialplan(p["context"], p["extension"], p["priority"]),
    "ChannelPlay": lambda c, k, p: h(c, k).play(p["media_uri"], playback_id=p["playback_id"]),
    "ChannelStagePlay": lambda c, k, p: h(c, k).stage_play(p["media_uri"], playback_id=p["playback_id"]),
    "ChannelRecord": lambda c, k, p: h(c, k).record(**_record_args(p)),
    "ChannelStageRecord": lambda c, k, p: h(c, k).stage_record(**_record_args(p)),
    "ChannelSnoop": lambda c, k, p: h(c, k).snoop(**_snoop_args(p)),
    "ChannelStageSnoop": lambda c, k, p: h(c, k).stage_snoop(**_snoop_args(p)),
    "PlaybackData": lambda c, k, p: h(c, k).data(),
    "PlaybackGet": lambda c, k, p: h(c, k).get(),
    "PlaybackControl": lambda c, k, p: h(c, k).control(p["command"]),
    "PlaybackSubscribe": lambda c, k, p: h(c, k).app_subscribe(),
    "PlaybackStop": lambda c, k, p: h(c, k).stop(),
    "RecordingLiveData": lambda c, k, p: h(c, k).data(),
    "RecordingLiveGet": lambda c, k, p: h(c, k).get(),
    "RecordingLivePause": lambda c, k, p: h(c, k).pause(),
    "RecordingLiveResume": lambda c, k, p: h(c, k).resume(),
    "RecordingLiveMute": lambda c, k, p: h(c, k).mute(),
    "RecordingLiveUnmute": lambda c, k, p: h(c, k).unmute(),
    "RecordingLiveSubscribe": lambda c, k, p: h(c, k).app_subscribe(),
    "RecordingLiveStop": lambda c, k, p: h(c, k).stop(),
    "RecordingLiveScrap": lambda c, k, p: h(c, k).scrap(),
    "RecordingStoredList": lambda c, k, p: c.stored_recordings.list(node=k.get("node")),
    "RecordingStoredData": lambda c, k, p: h(c, k).data(),
    "RecordingStoredGet": lambda c, k, p: h(c, k).get(),
    "RecordingStoredCopy": lambda c, k, p: h(c, k).copy(p["destination"]),
    "RecordingStoredDelete": lambda c, k, p: h(c, k).delete(),
    "BridgeCreate": lambda c, k, p: c.bridges.create(p["type"], p.get("name", ""), bridge_id=k.get("id"),
                                                     node=k.get("node"), dialog=k.get("dialog")),
    "BridgeStageCreate": lambda c, k, p: c.bridges.stage_create(p["type"], p.get("name", ""), bridge_id=k.get("id"),
                                                                node=k.get("node"), dialog=k.get("dialog")),
    "BridgeGet": lambda c, k, p: h(c, k).get(),
    "BridgeData": lambda c, k, p: h(c, k).data(),
    "BridgeList": lambda c, k, p: c.bridges.list(node=k.get("node")),
    "BridgeAddChannel": lambda c, k, p: h(c, k).add_channel(p["channel"], absorb_dtmf=p.get("absorbDTMF", False),
                                                            mute=p.get("mute", False), role=p.get("role", "")),
    "BridgeRemoveChannel": lambda c, k, p: h(c, k).remove_channel(p["channel"]),
    "BridgeSubscribe": lambda c, k, p: h(c, k).app_subscribe(),
    "BridgeUnsubscribe": lambda c, k, p: h(c, k).app_unsubscribe(),
    "BridgePlay": lambda c, k, p: h(c, k).play(p["media_uri"], playback_id=p["playback_id"]),
    "BridgeStagePlay": lambda c, k, p: h(c, k).stage_play(p["media_uri"], playback_id=p["playback_id"]),
    "BridgeRecord": lambda c, k, p: h(c, k).record(**_record_args(p)),
    "BridgeStageRecord": lambda c, k, p: h(c, k).stage_record(**_record_args(p)),
    "BridgeMOH": lambda c, k, p: h(c, k).moh(p["class"]),
    "BridgeStopMOH": lambda c, k, p: h(c, k).stop_moh(),
    "BridgeVideoSource": lambda c, k, p: h(c, k).video_source(p["channel"]),
    "BridgeVideoSourceDelete": lambda c, k, p: h(c, k).clear_video_source(),
    "BridgeDelete": lambda c, k, p: h(c, k).destroy(),
    "DeviceStateList": lambda c, k, p: c.device_states.list(node=k.get("node")),
    "DeviceStateData": lambda c, k, p: h(c, k).data(),
    "DeviceStateGet": lambda c, k, p: h(c, k).get(),
    "DeviceStateUpdate": lambda c, k, p: h(c, k).update(p["state"]),
    "DeviceStateDelete": lambda c, k, p: h(c, k).delete(),
    "EndpointList": lambda c, k, p: c.endpoints.list(node=k.get("node")),
    "EndpointListByTech": lambda c, k, p: c.endpoints.list_by_tech(p["tech"], node=k.get("node")),
    "EndpointData": lambda c, k, p: h(c, k).data(),
    "EndpointGet": lambda c, k, p: h(c, k).get(),
    "MailboxList": lambda c, k, p: c.mailboxes.list(node=k.get("node")),
    "MailboxData": lambda c, k, p: h(c, k).data(),
    "MailboxGet": lambda c, k, p: h(c, k).get(),
    "MailboxUpdate": lambda c, k, p: h(c, k).update(p["new"], p["old"]),
    "MailboxDelete": lambda c, k, p: h(c, k).delete(),
    "SoundList": lambda c, k, p: c.sounds.list(node=k.get("node"), **(p.get("filters") or {})),
    "SoundData": lambda c, k, p: h(c, k).data(),
}


def _go_kinds():
    return [row[0] for row in gowire.load_kinds_tsv()]


def test_every_go_kind_has_a_recorded_call(kinds_json):
    assert sorted(CALLS) == sorted(_go_kinds())
    assert set(_go_kinds()) <= set(kinds_json)


def _invoke(clients, example):
    plain, app = clients
    key = example["example_request"].get("key") or {}
    client = plain
    if key.get("app"):
        client = app
        if key["app"] != APP:
            client = app.new(application=key["app"])
            _CHILDREN.append(client)
    payload = {f: v for f, v in example["example_request"].items() if f not in ("kind", "key")}
    payload = next(iter(payload.values()), None)
    return CALLS[example["kind"]](client, key, payload)


@pytest.mark.parametrize("kind", _go_kinds() if gowire.recordings_available() else [])
def test_request_has_the_recorded_go_shape_and_reply_decodes(kind, kinds_json, go, clients):
    example = kinds_json[kind]
    recorded = example["example_request"]
    result = _invoke(clients, example)
    subject, sent = go.last(kind)

    assert subject == example["example_subject"]
    assert sent["kind"] == recorded["kind"]
    # keys are compared field by field: same fields, same values
    assert sent["key"] == recorded["key"]
    # payload: the same payload field, with the recorded field names and JSON types
    sent_fields = {f for f in sent if f not in ("kind", "key")}
    recorded_fields = {f for f in recorded if f not in ("kind", "key")}
    assert sent_fields == recorded_fields
    for field in recorded_fields:
        gowire.assert_shape(recorded[field], sent[field], context="%s.%s" % (kind, field))
        gowire.assert_shape(sent[field], recorded[field], context="%s.%s (reverse)" % (kind, field))

    # the recorded reply, decoded into the client's normal objects
    reply = example["example_response"]
    if isinstance(result, Staged):
        result = result.handle
    if "keys" in reply or example.get("subject_classes") == ["get"] and kind.endswith("List"):
        assert isinstance(result, list)
        assert [r.key.to_dict() for r in result] == reply.get("keys", [])
    elif "data" in reply:
        (field, value), = reply["data"].items()
        assert result == value
    elif "key" in reply:
        assert isinstance(result, Handle)
        assert result.key.to_dict() == dict(reply["key"], **({"dialog": result.dialog} if result.dialog else {}))
    else:
        assert result is None


ERROR_EXPECTATIONS = {
    "Non-2XX response: 404 Not Found": errors.NotFound,
    "not found": errors.NotFound,
    "Non-2XX response: 409 Conflict": errors.Conflict,
    "Non-2XX response: 422 Unprocessable Entity": errors.Unprocessable,
    "Non-2XX response: 400 Bad Request": errors.BadRequest,
    "Not implemented": errors.NotImplementedByServer,
}


def _error_kinds():
    if not gowire.recordings_available():
        return []
    return [k for k, v in gowire.load_kinds_json().items() if v.get("example_error_response") and k in CALLS]


@pytest.mark.parametrize("kind", _error_kinds())
def test_recorded_go_errors_raise_the_matching_exception(kind, kinds_json, go, clients):
    example = kinds_json[kind]
    text = example["example_error_response"]["error"]
    go.override[kind] = dumps({"error": text})
    with pytest.raises(errors.AriProxyError) as info:
        _invoke(clients, example)
    expected = next((cls for t, cls in ERROR_EXPECTATIONS.items() if text.endswith(t)), errors.AriProxyError)
    if "404 Not Found" in text:
        expected = errors.NotFound
    assert isinstance(info.value, expected), (text, info.value)
    assert text in str(info.value)


def test_generic_kind_to_a_go_server_says_the_operation_is_unsupported(go, clients):
    plain, app = clients
    ch = app.channels.handle("chan-1", node=NODE)
    with pytest.raises(errors.NotImplementedByServer) as info:
        ch.move("otherapp")
    assert "does not support channels.move" in str(info.value)
    subject, sent = go.last("AriCall")
    assert subject == "ari.command.%s.%s" % (APP, NODE)
    assert sent["ari_call"] == {"resource": "channels", "operation": "move",
                                "params": {"channelId": "chan-1", "app": "otherapp"}}


def test_go_quirks_in_replies_decode(go, clients):
    plain, app = clients
    # SoundList keys without ids, MailboxList without keys, {} data for an unset variable
    sounds = plain.sounds.list()
    assert len(sounds) == 2 and all(s.id == "" and s.node == NODE for s in sounds)
    assert plain.mailboxes.list() == []
    go.override["AsteriskVariableGet"] = b'{"error":"","data":{}}'
    assert app.variables.get("NOPE", node=NODE) == ""
    # a broadcast every server answers with a Go 404: NotFound
    go.override["ChannelData"] = b'{"error":"Non-2XX response: 404 Not Found"}'
    with pytest.raises(errors.NotFound):
        app.channels.handle("chan-x").data()


def test_every_recorded_event_is_delivered_and_routed(nats_server, go, clients):
    plain, app = clients
    events = gowire.load_events_json()
    everything = plain.subscribe(queue_size=1000)
    per_dialog, per_entity = {}, {}
    for name, rec in events.items():
        if rec["subject"].startswith("ari.dialogevent."):
            dialog = rec["subject"].split(".", 2)[2]
            if dialog not in per_dialog:
                per_dialog[dialog] = plain.subscribe(key=Key(dialog=dialog))
    pub = Bus(nats_server.url, name="event-publisher")
    pub.connect()
    try:
        # entity subscriptions for every entity the recorded events name
        from ariproxy.client.entities import related_entities
        from ariproxy.protocol import Event
        for name, rec in events.items():
            if not rec["subject"].startswith("ari.event."):
                continue
            for k in Event.decode(rec["raw"]).keys():
                if (k.kind, k.id) not in per_entity:
                    per_entity[(k.kind, k.id)] = plain.handle(k).subscribe()
        plain.bus.flush()
        for name, rec in events.items():
            pub.publish(rec["subject"], rec["raw"].encode())
        # Go may publish one event twice to a dialog subject: delivered once
        dup = next(rec for rec in events.values() if rec["subject"].startswith("ari.dialogevent."))
        pub.publish(dup["subject"], dup["raw"].encode())
        pub.flush()
        n_events = sum(1 for rec in events.values() if rec["subject"].startswith("ari.event."))
        n_dialog = len(events) - n_events
        wait_for(lambda: everything.pending >= n_events, 5.0)
        wait_for(lambda: sum(s.pending for s in per_dialog.values()) >= n_dialog, 5.0)
        got = [everything.get(0) for _ in range(n_events)]
        assert sorted(e.type for e in got) == sorted(
            rec["payload"]["type"] for rec in events.values() if rec["subject"].startswith("ari.event."))
        assert sum(s.pending for s in per_dialog.values()) == n_dialog  # the duplicate was dropped
        for (kind, id_), sub in per_entity.items():
            assert sub.pending >= 1, (kind, id_)
            for event in [sub.get(0) for _ in range(sub.pending)]:
                # its own events, and those of playbacks/recordings/snoops on it (target_uri, Snoop/<id>)
                assert (kind, id_) in [(k.kind, k.id) for k in event.keys()] + related_entities(event)
    finally:
        pub.close()


def _client_exchanges():
    """Every recorded exchange the Go client sent (not hand-sent) for a kind of CALLS, with a reply."""
    if not gowire.recordings_available():
        return []
    out = []
    for x in gowire.exchanges(("main", "two", "real")):  # the others are hand-sent requests
        if "raw." in (x.step or ""):
            continue
        if x.reply_style in ("inbox", "rp") and x.kind in CALLS and x.replies and x.payload is not None:
            if x.kind == "ChannelStageOriginate" and "channel_external_media" in x.payload:
                continue  # the Go client's StageExternalMedia bug: we send ChannelStageExternalMedia
            out.append(x)
    return out


def test_every_recorded_go_client_request_and_reply(kinds_json, go, clients):
    """Each request the Go client sent in the recordings, re-made with the client: same shape; and
    each recorded reply decodes (errors become exceptions)."""
    exchanges = _client_exchanges()
    assert len(exchanges) > 150
    failures = []
    for x in exchanges:
        go.override[x.kind] = x.replies[0].raw_bytes
        example = {"kind": x.kind, "example_request": x.payload}
        reply = x.first_reply if isinstance(x.first_reply, dict) else {}
        try:
            _invoke(clients, example)
            if reply.get("error"):
                failures.append("%s: error reply %r did not raise" % (x.id, reply["error"]))
        except errors.AriProxyError as exc:
            if not reply.get("error"):
                failures.append("%s: raised %r on a good reply" % (x.id, exc))
        subject, sent = go.last(x.kind)
        recorded = x.payload
        sent_key = dict(sent["key"])
        if "id" not in (recorded.get("key") or {}) and x.kind in ("BridgeCreate", "BridgeStageCreate"):
            # Go let the server pick the bridge id; this client always names it (subscribed first)
            sent_key.pop("id", None)
            sent_key.pop("kind", None)
        if sent_key != (recorded.get("key") or {}):
            failures.append("%s: key %r, Go sent %r" % (x.id, sent["key"], recorded.get("key")))
        sent_fields = {f for f in sent if f not in ("kind", "key")}
        rec_fields = {f for f in recorded if f not in ("kind", "key")}
        if sent_fields != rec_fields:
            failures.append("%s: payload fields %s, Go sent %s" % (x.id, sorted(sent_fields), sorted(rec_fields)))
            continue
        for field in rec_fields:
            for a, b in ((recorded[field], sent[field]), (sent[field], recorded[field])):
                report = gowire.ShapeReport(gowire.shape_diff(a, b), x.id)
                if not report.ok:
                    failures.append(str(report))
        if subject != x.subject:
            failures.append("%s: subject %s, Go used %s" % (x.id, subject, x.subject))
    assert not failures, "\n".join(failures)
