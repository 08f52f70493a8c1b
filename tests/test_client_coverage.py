"""Every request kind and every ARI operation has a client method (the explicit mapping table).

The table comes from the ``@sends`` tags on the methods themselves
(``ariproxy.client.operation_table()``).  Walking ``fixtures/kinds.tsv`` and
the Asterisk spec (``ari-api-docs/*.json``), an operation without a method
fails here.  The generic-kind methods are then called against a stand-in
server on a real NATS and must send ``AriCall`` naming their operation.
"""
import glob
import json
import os

import pytest

from ariproxy.bus import Bus
from ariproxy.client import Client, operation_table
from ariproxy.client import handles as handles_mod
from ariproxy.client import resources as resources_mod
from ariproxy.client.registry import by_kind, by_operation
from ariproxy.jsonutil import dumps, loads
from ariproxy.protocol import ARI_OPERATIONS, KINDS
from tests.support.shared import shared_path
from tests.support.wait import wait_for

# The events websocket is how a server receives events, not an operation to proxy.
NOT_PROXIED = {("events", "eventWebsocket")}


def _spec_operations():
    ops = set()
    for path in glob.glob(os.path.join(shared_path("ari-api-docs"), "*.json")):
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        resource = os.path.basename(path)[:-5]
        for api in doc.get("apis", []):
            for op in api.get("operations", []):
                ops.add((resource, op["nickname"]))
    return ops


def test_every_go_kind_has_a_client_method():
    with open(shared_path("fixtures", "kinds.tsv"), encoding="utf-8") as f:
        kinds = [line.split()[0] for line in f.read().splitlines()[1:] if line.strip()]
    assert len(kinds) == 111
    mapped = by_kind()
    missing = [k for k in kinds if k not in mapped]
    assert not missing, "request kinds without a client method: %s" % missing
    assert set(mapped) <= set(KINDS)


def test_every_ari_operation_has_a_client_method():
    ops = _spec_operations()
    assert len(ops) > 100
    mapped = by_operation()
    missing = sorted(op for op in ops - NOT_PROXIED if op not in mapped)
    assert not missing, "ARI operations without a client method: %s" % missing
    assert set(mapped) <= set(ARI_OPERATIONS)


def test_the_table_names_real_callable_methods():
    rows = operation_table()
    assert rows
    for row in rows:
        cls_name, name = row.method.split(".")
        assert row.owner.__name__ == cls_name
        method = getattr(row.owner, name)
        assert callable(method), row
        assert method.__doc__, "%s has no docstring" % row.method
    # every owner is reachable: a handle class or an accessor attached to every client
    owners = {row.owner for row in rows}
    accessors = set(resources_mod._ACCESSORS.values())
    handle_classes = set(handles_mod._CLASSES.values())
    assert owners <= accessors | handle_classes


NODE = "00:11:22:33:44:55"
APP = "testapp"


@pytest.fixture
def stand_in(nats_server):
    """Answers every request with an empty AriCall result and records it; announces NODE on ping."""
    captured = []
    bus = Bus(nats_server.url, name="generic-stand-in")
    bus.connect()

    def on_message(msg):
        cls = msg.subject.split(".")[1]
        if cls == "ping":
            bus.publish("ari.announce", dumps({"node": NODE, "application": APP}))
        elif msg.reply and cls in ("get", "data", "command", "create"):
            captured.append((msg.subject, loads(msg.data)))
            bus.publish(msg.reply, b'{"error":"","data":{"ari_call":{"result":null}}}')

    bus.subscribe("ari.>", on_message)
    bus.flush()
    yield captured
    bus.close()


def _generic_calls(c):
    ch = c.channels.handle("c1", node=NODE)
    br = c.bridges.handle("b1", node=NODE)
    ep = c.endpoints.handle("PJSIP/alice", node=NODE)
    return {
        "Channel.progress": lambda: ch.progress(),
        "Channel.rtp_statistics": lambda: ch.rtp_statistics(),
        "Channel.move": lambda: ch.move("other", "a,b"),
        "Channel.redirect": lambda: ch.redirect("PJSIP/bob"),
        "Channel.get_variables": lambda: ch.get_variables("A", "B"),
        "Channel.set_variables": lambda: ch.set_variables({"A": "1"}),
        "Channel.transfer_progress": lambda: ch.transfer_progress("channel_progress"),
        "Bridge.get_variable": lambda: br.get_variable("X"),
        "Bridge.set_variable": lambda: br.set_variable("X", "1"),
        "Bridge.get_variables": lambda: br.get_variables("X"),
        "Bridge.set_variables": lambda: br.set_variables({"X": "1"}),
        "StoredRecording.file": lambda: c.stored_recordings.handle("r1", node=NODE).file(),
        "Endpoint.send_message": lambda: ep.send_message("sip:me", "hi"),
        "Endpoint.refer": lambda: ep.refer("sip:me", "sip:you"),
        "Application.set_event_filter": lambda: c.applications.handle(APP, node=NODE).set_event_filter(
            {"allowed": [{"type": "StasisStart"}]}),
        "Asterisk.ping": lambda: c.asterisk.ping(node=NODE),
        "Endpoints.send_message": lambda: c.endpoints.send_message("pjsip:alice", "sip:me", "hi", node=NODE),
        "Endpoints.refer": lambda: c.endpoints.refer("pjsip:alice", "sip:me", "sip:you", node=NODE),
        "Events.user_event": lambda: c.events.user_event("ev", source=ch, variables={"k": "v"}, node=NODE),
        "Events.claim_channel": lambda: c.events.claim_channel(ch, node=NODE),
    }


def test_generic_methods_send_their_operation(nats_server, stand_in):
    with Client(application=APP, url=nats_server.url, timeout=2.0, retries=0) as c:
        wait_for(lambda: c.nodes(), 5.0)
        calls = _generic_calls(c)
        generic_rows = [row for row in operation_table() if row.kind is None]
        assert sorted(calls) == sorted({row.method for row in generic_rows})
        for row in generic_rows:
            before = len(stand_in)
            calls[row.method]()
            subject, sent = stand_in[-1]
            assert len(stand_in) == before + 1
            assert sent["kind"] == "AriCall", row
            assert (sent["ari_call"]["resource"], sent["ari_call"]["operation"]) == row.ari, row
            assert subject.endswith(".%s.%s" % (APP, NODE))
            params = sent["ari_call"]["params"]
            if row.owner.__name__ == "Channel":
                assert params["channelId"] == "c1"
            if row.owner.__name__ == "Endpoint":
                assert (params["tech"], params["resource"]) == ("PJSIP", "alice")
