"""Two Python servers answering the Go client's recorded two-server run (scenario ``two``).

Two simulated Asterisks with the recordings' entity ids (``00:11:22:33:44:55``
and ``66:77:88:99:aa:bb``), one Python server each, same app, one NATS.  The
recorded requests (queue-group creates, broadcast get/data/command, List
gathering, exact-node requests) are replayed byte for byte and every reply
the Go servers sent is matched with a Python reply of the same kind (success
or the same error class) and the same shape; a broadcast must get as many
replies as the Go servers gave (the Go client counts them against the known
cluster members).
"""
import pytest

from ariproxy import errors
from ariproxy.protocol import KINDS
from tests.support import gowire
from tests.support.nats import NatsServer

APP = "testapp"
NODE_A = "00:11:22:33:44:55"
NODE_B = "66:77:88:99:aa:bb"

# The queue group picks the server of each create; the cleanup at the end hangs the
# channels up on the node the Go run happened to pick, which may not be Python's.
CLEANUP_STEP = "two.cleanup"


@pytest.fixture(scope="module")
def two():
    gowire.go_wire_path()
    nats = NatsServer().start()
    try:
        with gowire.ServerStack(APP, NODE_A, nats=nats) as a, gowire.ServerStack(APP, NODE_B, nats=nats) as b:
            yield a, b
    finally:
        nats.cleanup()


@pytest.fixture(scope="module")
def replayer(two):
    a, b = two

    def inbound_on_b(x):
        # Go's fake Asterisk B had an inbound call "inboundB" (step two.event.fromB)
        r = b.ari("POST", "/channels/create", params={"endpoint": "PJSIP/alice", "app": APP,
                                                      "channelId": "inboundB"})
        assert r.status_code < 300, r.text

    hooks = {x.id: inbound_on_b for x in gowire.exchanges(("two",))
             if x.step == CLEANUP_STEP and '"inboundB"' in x.request.raw}
    return gowire.Replayer(a.bus, ("two",), before=hooks, max_replies="recorded", quiet_timeout=1.0)


def _kind_of_reply(reply):
    return "ok" if not reply.get("error") else type(errors.error_from_text(reply["error"])).__name__


@pytest.mark.parametrize("xid", gowire.exchange_ids(("two",)))
def test_two_python_servers_answer_like_two_go_servers(replayer, xid):
    x = replayer.exchange(xid)
    got = replayer.result(xid)
    label = "%s (step %r) %s" % (xid, x.step, got.subject)
    go_replies = [r.payload for r in x.replies]
    py_replies = got.replies
    assert all(isinstance(r, dict) and isinstance(r.get("error"), str) for r in py_replies), (label, py_replies)
    if x.step == CLEANUP_STEP and x.kind == "ChannelHangup":
        assert len(py_replies) == 1, (label, py_replies)
        assert _kind_of_reply(py_replies[0]) in ("ok", "NotFound"), (label, py_replies)
        return
    assert len(py_replies) == len(go_replies), "%s: Go servers sent %d replies, Python %d: %r" % (
        label, len(go_replies), len(py_replies), py_replies)
    # pair each Go reply with an unused Python reply of the same outcome
    spec = KINDS.get(x.kind)
    spec_is_list = bool(spec and spec.is_list)
    left = list(py_replies)
    for go in go_replies:
        want = _kind_of_reply(go)
        match = next((p for p in left if _kind_of_reply(p) == want), None)
        assert match is not None, "%s: no Python reply reads as %s like Go's %s; Python: %s" % (
            label, want, gowire.clip(go), [gowire.clip(p) for p in left])
        left.remove(match)
        if want == "ok":
            diffs = gowire.envelope_diff(go, match, is_list=spec_is_list) + gowire.shape_diff(go, match)
            report = gowire.ShapeReport(diffs, label)
            assert report.ok, str(report)
