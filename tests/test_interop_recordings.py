"""The Go recordings and the interop helpers themselves (tests/support/gowire.py).

These run without any ariproxy code: they prove that the loaders see every
kind and pair every reply, and that the shape comparator catches what a Go
decoder would choke on (so the replay tests built on it can fail).
"""
import pytest

from tests.support import gowire


def test_every_go_kind_is_recorded_as_a_request():
    recorded = {x.kind for x in gowire.exchanges()}
    kinds = [k for k, _, _ in gowire.load_kinds_tsv()]
    assert len(kinds) == 111
    assert [k for k in kinds if k not in recorded] == []
    assert set(gowire.load_kinds_json()) >= set(kinds)


def test_replies_are_paired_by_reply_subject():
    xs = gowire.exchanges()
    by_id = {x.id: x for x in xs}
    # a broadcast get answered by both servers of the two-server run
    two = by_id["two-0065-ChannelList"]
    assert two.reply_style == "rp" and len(two.replies) == 2
    assert all(r.subject == two.request.reply for r in two.replies)
    # an exact-node request: one reply on an _INBOX subject
    info = by_id["main-0012-AsteriskInfo"]
    assert info.reply_style == "inbox" and len(info.replies) == 1
    assert info.step == "AsteriskInfo.nodekey"
    assert info.node_app == ("testapp", "00:11:22:33:44:55")
    # requests the Go server never answered (crash, undecodable duration, not JSON)
    assert by_id["crash-0006-ChannelAnswer"].replies == []
    assert by_id["main-0510-ChannelDial"].replies == []
    assert by_id["main-0491-<not-json>"].payload is None


def test_markers_are_not_requests_and_name_steps():
    xs = gowire.exchanges(("main",))
    assert all(x.request.subject != "capture.marker" for x in xs)
    assert gowire.exchange_for_step("AsteriskVariableGet.unset").first_reply == {"error": "", "data": {}}


def test_events_are_loaded_with_envelopes():
    events = gowire.load_events_json()
    assert "event:StasisStart" in events and "dialogevent:StasisStart" in events
    for name, rec in events.items():
        body = rec["payload"]
        for field in ("application", "asterisk_id", "timestamp", "type"):
            assert field in body, (name, field)
        assert ("dialog" in body) == name.startswith("dialogevent:"), name


# -- the comparator ----------------------------------------------------------

GO_CHANNEL = {
    "key": {"kind": "channel", "id": "c1", "node": "n", "app": "a"},
    "id": "c1", "name": "PJSIP/alice-1", "state": "Up", "accountcode": "",
    "caller": {"number": "1000"}, "connected": {},
    "creationtime": "2026-11-29T04:18:53.860+0000",
    "dialplan": {"context": "default", "exten": "s", "priority": 1}, "channelvars": None,
}


def _py_channel(**changes):
    py = {k: (dict(v) if isinstance(v, dict) else v) for k, v in GO_CHANNEL.items()}
    py.update(language="en", protocol_id="")  # extra fields are fine
    py.update(changes)
    return py


def test_same_shape_with_extra_fields_passes():
    report = gowire.ShapeReport(gowire.shape_diff(GO_CHANNEL, _py_channel()))
    assert report.ok, str(report)


@pytest.mark.parametrize("change, problem", [
    ({"state": None}, "null"),
    ({"dialplan": {"context": "default", "exten": "s", "priority": "1"}}, "type string, Go has integer"),
    ({"dialplan": {"context": "default", "exten": "s", "priority": 1.0}}, "type number, Go has integer"),
    ({"creationtime": "2026-11-29T04:18:53.860+00:00"}, "timestamp"),
    ({"creationtime": "2026-11-29T04:18:53Z"}, "timestamp"),
    ({"caller": "1000"}, "type string, Go has object"),
])
def test_retyped_field_is_an_error(change, problem):
    report = gowire.ShapeReport(gowire.shape_diff(GO_CHANNEL, _py_channel(**change)), "ChannelData")
    assert not report.ok
    assert problem in str(report), str(report)


def test_missing_field_is_an_error_unless_go_sent_a_zero_value():
    py = _py_channel()
    del py["name"]
    del py["connected"]      # Go sends {}: a Go decoder gets the same zero value
    del py["accountcode"]    # Go sends ""
    report = gowire.ShapeReport(gowire.shape_diff(GO_CHANNEL, py), "ChannelData")
    assert [d.path for d in report.errors] == ["$.name"]
    assert {d.path for d in report.notes} == {"$.connected", "$.accountcode"}
    assert "$.name: missing" in str(report)


def test_lists_compare_by_element_shape():
    go = {"keys": [{"kind": "sound", "node": "n", "app": "a"},
                   {"kind": "sound", "id": "x", "node": "n", "app": "a"}]}
    assert gowire.ShapeReport(gowire.shape_diff(go, {"keys": [{"kind": "sound", "id": "y", "node": "n", "app": "a"}]}))
    bad = gowire.ShapeReport(gowire.shape_diff(go, {"keys": [{"kind": "sound", "id": 3, "node": "n", "app": "a"}]}))
    assert not bad.ok and "$.keys[0].id" in str(bad)
    assert not gowire.ShapeReport(gowire.shape_diff(go, {"keys": {"kind": "sound"}})).ok
    empty = gowire.ShapeReport(gowire.shape_diff(go, {"keys": []}))
    assert empty.ok and empty.notes


def test_go_null_accepts_anything_and_zero_timestamps_are_zero():
    assert gowire.shape_diff({"channelvars": None}, {"channelvars": {"A": "1"}}) == []
    assert gowire.is_zero({"id": "", "creationtime": "1970-01-01T00:00:00.000+0000", "caller": None})
    assert not gowire.is_zero({"id": "x"})


def test_envelope_requires_error_string_and_key_data_keys_where_go_has_them():
    assert gowire.envelope_diff({"error": ""}, {"error": ""}) == []
    assert gowire.envelope_diff({"error": ""}, {}) != []
    assert gowire.envelope_diff({"error": "", "data": {}}, {"error": ""}) != []   # unset variable
    assert gowire.envelope_diff({"error": "", "key": {"id": "x"}}, {"error": ""}) != []
    assert gowire.envelope_diff({"error": ""}, {"error": "", "keys": [{"id": "m"}]}) != []
    assert gowire.envelope_diff({"error": ""}, {"error": "", "keys": [{"id": "m"}]}, allow_extra=("keys",)) == []


def test_value_diff_treats_missing_as_zero_and_checks_values():
    go = {"kind": "ChannelDial", "key": {"kind": "channel", "id": "c"},
          "channel_dial": {"caller": "", "timeout": 30000000000}}
    assert gowire.value_diff(go, {"kind": "ChannelDial", "key": {"kind": "channel", "id": "c"},
                                  "channel_dial": {"timeout": 30000000000}}) == []
    diffs = gowire.value_diff(go, {"kind": "ChannelDial", "key": {"kind": "channel", "id": "c"},
                                   "channel_dial": {"timeout": 30}})
    assert [d.path for d in diffs] == ["$.channel_dial.timeout"]
    assert gowire.value_diff({"key": {}}, {"key": {"app": "a"}}) != []
    assert gowire.value_diff({"key": {}}, {"key": {"app": "a"}}, routing=("$.key.app",)) == []
    assert gowire.value_diff({"key": {"app": "b"}}, {"key": {"app": "a"}}, routing=("$.key.app",)) != []
    assert gowire.value_diff({"n": 1}, {"n": 1.0}) != []   # Go int fields refuse 1.0


def test_interop_table_lists_every_kind():
    """docs/INTEROP.md (tools/gen_interop_table.py) has a row per Go kind and the generic kind."""
    import os
    from ariproxy.protocol import GENERIC_KIND
    doc = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "INTEROP.md")
    with open(doc, encoding="utf-8") as f:
        text = f.read()
    missing = [k for k, _, _ in gowire.load_kinds_tsv() if "\n| %s |" % k not in text]
    assert missing == [], "regenerate with tools/gen_interop_table.py --run; missing: %s" % missing
    assert "| %s " % GENERIC_KIND in text


def test_keys_may_lack_an_empty_id_but_not_their_routing_fields():
    go = {"key": {"kind": "bridge", "id": "br-3", "node": "n", "dialog": "dlg-3", "app": "a"}}
    no_id = gowire.ShapeReport(gowire.shape_diff(go, {"key": {"kind": "bridge", "node": "n", "dialog": "dlg-3",
                                                              "app": "a"}}))
    assert no_id.ok and no_id.notes
    for field in ("kind", "node", "dialog", "app"):
        py = {"key": {k: v for k, v in go["key"].items() if k != field}}
        assert not gowire.ShapeReport(gowire.shape_diff(go, py)).ok, field
