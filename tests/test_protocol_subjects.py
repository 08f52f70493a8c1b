"""Subjects (PROTOCOL.md 1) and subject-token validation."""
import pytest

from ariproxy.errors import ProtocolError
from ariproxy.protocol import (announce_subject, dialog_pattern, dialog_subject, event_pattern, event_subject,
                               normalize_prefix, ping_subject, request_subjects, subject, validate_token)

NODE = "00:11:22:33:44:55"


@pytest.mark.parametrize("cls", ["event", "dialogevent", "get", "data", "command", "create", "ping", "announce"])
def test_subject_levels_for_every_class(cls):
    assert subject("ari.", cls) == "ari." + cls
    assert subject("ari.", cls, "app") == "ari.%s.app" % cls
    assert subject("ari.", cls, "app", NODE) == "ari.%s.app.%s" % (cls, NODE)


def test_node_without_app_is_a_broadcast_like_go():
    assert subject("ari.", "get", None, NODE) == "ari.get"
    assert subject("ari.", "get", "", NODE) == "ari.get"


@pytest.mark.parametrize("prefix,expected", [
    ("ari.", "ari."), ("ari", "ari."), (None, "ari."), ("", "ari."), ("my.proxy", "my.proxy."), ("x.", "x."),
])
def test_prefix_normalised(prefix, expected):
    assert normalize_prefix(prefix) == expected
    assert subject(prefix, "data", "a") == expected + "data.a"


@pytest.mark.parametrize("prefix", ["a..b", "a.*", "a.>", "a b.", ".", 5])
def test_bad_prefix(prefix):
    with pytest.raises(ProtocolError):
        normalize_prefix(prefix)


def test_unknown_class():
    with pytest.raises(ProtocolError, match="class"):
        subject("ari.", "evil", "a")


@pytest.mark.parametrize("bad", ["x.>", "a.b", "*", ">", "a b", "tab\there", "nl\n", "cr\r", "nul\x00", "\u2003"])
def test_hostile_tokens_refused_with_name(bad):
    with pytest.raises(ProtocolError, match="app"):
        subject("ari.", "command", bad)
    with pytest.raises(ProtocolError, match="node"):
        subject("ari.", "command", "app", bad)
    with pytest.raises(ProtocolError, match="dialog"):
        dialog_subject("ari.", bad)


def test_validate_token():
    assert validate_token("app", "test-app_1:x") == "test-app_1:x"
    assert validate_token("node", NODE) == NODE
    assert validate_token("dialog", "", required=False) == ""
    with pytest.raises(ProtocolError, match="dialog must not be empty"):
        validate_token("dialog", "")
    with pytest.raises(ProtocolError, match="app must be a string"):
        validate_token("app", 5)
    with pytest.raises(ProtocolError) as info:
        validate_token("app", "x" * 1000 + ".")
    assert len(str(info.value)) < 300   # hostile values are not echoed in full


def test_server_request_subjects():
    assert request_subjects("ari.", "create", "app", NODE) == ["ari.create", "ari.create.app", "ari.create.app." + NODE]
    with pytest.raises(ProtocolError):
        request_subjects("ari.", "event", "app", NODE)
    with pytest.raises(ProtocolError):
        request_subjects("ari.", "get", "", NODE)


def test_event_and_dialog_subjects_and_patterns():
    assert event_subject("ari.", "test", NODE) == "ari.event.test." + NODE
    assert event_pattern("ari.") == "ari.event.>"
    assert event_pattern("ari.", "test") == "ari.event.test.>"
    assert event_pattern("ari.", "test", NODE) == "ari.event.test." + NODE
    assert event_pattern("ari.", None, NODE) == "ari.event.*." + NODE
    assert dialog_subject("ari.", "d1") == "ari.dialogevent.d1"
    assert dialog_pattern("ari.") == "ari.dialogevent.*"
    assert dialog_pattern("ari.", "d1") == "ari.dialogevent.d1"
    assert ping_subject() == "ari.ping" and announce_subject("x") == "x.announce"
    with pytest.raises(ProtocolError):
        event_subject("ari.", "test", "")
