"""The generic kind AriCall: encoding, planning, responses, and what a Go server answers to unknown kinds."""
import json

import pytest

from ariproxy.errors import NotFound, NotImplementedByServer, ProtocolError
from ariproxy.protocol import (GENERIC_KIND, GENERIC_SPEC, KINDS, Key, Request, Response, generic_class,
                               generic_request, generic_response, generic_result, spec_for)
from tests.support.shared import shared_path

NODE = "00:11:22:33:44:55"
KEY = Key("channel", "c1", NODE, "d1", "demo")


def test_request_shape():
    req = generic_request("channels", "move", key=KEY, channelId="c1", app="other")
    assert json.loads(req.encode()) == {
        "kind": "AriCall", "key": {"kind": "channel", "id": "c1", "node": NODE, "dialog": "d1", "app": "demo"},
        "ari_call": {"resource": "channels", "operation": "move", "params": {"channelId": "c1", "app": "other"}}}
    back = Request.decode(req.encode())
    assert back == req and spec_for(back.kind) is GENERIC_SPEC


def test_plan_passes_params_and_binds_the_key():
    req = Request.decode(generic_request("bridges", "setBridgeVar", key=Key("bridge", "b1", dialog="d"),
                                         bridgeId="b1", variable="V", value="1").encode())
    call = GENERIC_SPEC.plan(req, app="demo")
    assert (call.resource, call.operation) == ("bridges", "setBridgeVar")
    assert call.all_params == {"bridgeId": "b1", "variable": "V", "value": "1"}
    assert call.bindings == (Key("bridge", "b1"),)
    assert GENERIC_SPEC.to_ari(req) == ({}, {"bridgeId": "b1", "variable": "V", "value": "1"})
    assert GENERIC_SPEC.plan(Request.decode(generic_request("asterisk", "ping").encode())).params == {}


@pytest.mark.parametrize("payload,match", [
    (None, "required"),
    ({"resource": "channels"}, "operation"),
    ({"resource": 5, "operation": "move"}, "resource"),
    ({"resource": "channels", "operation": "teleport"}, "unknown ARI operation"),
    ({"resource": "events", "operation": "eventWebsocket"}, "cannot be called"),
    ({"resource": "channels", "operation": "move", "params": [1]}, "params"),
])
def test_malformed_generic_payloads(payload, match):
    req = Request(GENERIC_KIND, KEY, "ari_call" if payload is not None else None, payload)
    with pytest.raises(ProtocolError, match=match):
        GENERIC_SPEC.plan(req)


def test_builder_refuses_unknown_operations():
    with pytest.raises(ProtocolError):
        generic_request("channels", "nope")


def test_subject_class_per_operation():
    assert generic_class("channels", "rtpstatistics", KEY) == "data"
    assert generic_class("asterisk", "ping") == "data"
    assert generic_class("channels", "move", KEY) == "command"
    assert generic_class("endpoints", "sendMessage", Key()) == "create"
    assert generic_class("events", "userEvent") == "create"


def test_generic_is_not_a_go_kind():
    assert GENERIC_KIND not in KINDS and spec_for("NoSuchKind") is None
    assert spec_for("ChannelAnswer") is KINDS["ChannelAnswer"]


def test_results_round_trip():
    resp = Response.decode(generic_response({"channel_ids": ["a"]}).encode())
    assert resp.entity.field == "ari_call"
    assert generic_result(resp) == {"channel_ids": ["a"]}
    assert generic_result(Response.decode(generic_response(None).encode())) is None
    wav = bytes(range(256)) * 10
    resp = Response.decode(generic_response(wav, "audio/wav").encode())
    assert resp.data["ari_call"]["content_type"] == "audio/wav"
    assert generic_result(resp) == wav
    with pytest.raises(NotFound):
        generic_result(Response(error="Non-2XX response: 404 Not Found: Channel not found"))
    with pytest.raises(ProtocolError):
        generic_result(Response(data={"ari_call": {"body_base64": "***"}}))
    with pytest.raises(ProtocolError):
        generic_result(Response(data={"ari_call": "x"}))


def test_go_server_answers_unknown_kinds_not_implemented():
    """From the recordings: kinds the Go server does not know get "Not implemented" on any request subject,
    which the client raises as NotImplementedByServer."""
    found = []
    for scenario in ("main", "extra", "misc", "two"):
        with open(shared_path("fixtures", "go-wire", "wire_%s.jsonl" % scenario), encoding="utf-8") as f:
            messages = [json.loads(line) for line in f]
        replies = {m["subject"]: m for m in messages}
        for m in messages:
            parts = m["subject"].split(".")
            if parts[0] != "ari" or parts[1] not in ("get", "data", "command", "create"):
                continue
            payload = m.get("payload")
            if not isinstance(payload, dict) or "kind" not in payload or payload["kind"] in KINDS:
                continue
            reply = replies[m["reply"]]
            assert reply["payload"] == {"error": "Not implemented"}
            with pytest.raises(NotImplementedByServer):
                generic_result(Response.decode(reply["raw"]))
            found.append((parts[1], payload["kind"]))
    assert ("command", "NoSuchKind") in found and ("get", "") in found
