"""Every request the Go client was recorded sending decodes with the Python protocol layer.

For each recorded request (all 111 kinds; with and without app/node; ``null``,
``{}`` and missing keys; dialog keys; unknown extra fields; scenarios main,
two, extra, misc, crash, real, plus the examples of kinds.json) the exact
recorded bytes go through ``Request.decode`` and the kinds table turns the
payload into ARI parameters (``KINDS[kind].plan``).  The only requests that
may be refused are those the Go server refuses too (``GO_REJECTS``, each with
the reason); the Python layer must refuse them with a ``ProtocolError`` that
names the problem, never another exception.
"""
import pytest

from ariproxy.errors import ProtocolError
from ariproxy.protocol import KINDS, Key, Request
from tests.support import gowire

# exchange id -> what the Go server did with it (the Python layer must refuse it too).
GO_REJECTS = {
    "extra-0008-ChannelStageExternalMedia": "Go answers 'ExternalMediaOptions is required'",
    "extra-0011-ChannelOriginate": "Go answers 'OriginateRequest is mandatory'",
    "extra-0014-ChannelExternalMedia": "Go answers 'Format is mandatory'",
    "main-0510-ChannelDial": "Go cannot decode the duration \"5s\" and never answers",
    "crash-0006-ChannelAnswer": "a null key: the Go server dereferences it and crashes",
}

# Requests the Go server refuses but the Python layer serves on purpose.
PYTHON_SERVES = {
    # The Go client's StageExternalMedia sends kind ChannelStageOriginate with a
    # channel_external_media payload; Go answers "OriginateRequest is mandatory".
    "main-0299-ChannelStageOriginate": "staged as external media",
}

NOT_IMPLEMENTED = {"NoSuchKind", ""}


def _key_of(recorded):
    return Key.from_dict(recorded) if isinstance(recorded, dict) else Key()


@pytest.mark.parametrize("xid", gowire.exchange_ids())
def test_recorded_request_decodes_and_maps_to_ari(xid):
    x = next(e for e in gowire.exchanges((xid.split("-")[0],)) if e.id == xid)
    if x.payload is None:
        # not JSON at all (raw.invalidJSON): the Go server drops it; Python refuses it by name
        with pytest.raises(ProtocolError):
            Request.decode(x.request.raw_bytes)
        return
    req = Request.decode(x.request.raw_bytes)
    assert req.kind == x.kind
    assert req.key == _key_of(x.key), "key %r decoded as %r" % (x.key, req.key)
    if x.kind in NOT_IMPLEMENTED:
        assert x.kind not in KINDS  # the server answers "Not implemented", as Go does
        return
    spec = KINDS[x.kind]
    if xid in GO_REJECTS:
        with pytest.raises(ProtocolError) as err:
            spec.plan(req, app="testapp")
        assert str(err.value), "a refusal must say what is wrong"
        return
    call = spec.plan(req, app="testapp")
    unset = sorted(name for name, value in call.all_params.items() if value is None)
    assert unset == [], "%s: ARI parameters without a value: %s" % (xid, unset)
    if x.payload_fields and spec.payload_field in x.payload_fields and spec.payload_required:
        assert req.payload_field in spec.payload_fields


@pytest.mark.parametrize("kind", sorted(gowire.known_kinds()) if gowire.recordings_available() else [])
def test_kinds_json_examples_decode(kind):
    rec = gowire.load_kinds_json()[kind]
    for field in ("example_request_raw",):
        req = Request.decode(rec[field].encode("utf-8"))
        assert req.kind == kind
        KINDS[kind].plan(req, app="testapp")
    err_req = rec.get("example_error_request")
    if err_req is not None:
        req = Request.from_dict(err_req)
        assert req.kind == kind


def test_kinds_table_matches_the_go_kinds():
    if not gowire.recordings_available():
        gowire.go_wire_path()   # skips, naming the missing folder
        pytest.skip("recordings absent")
    rows = gowire.load_kinds_tsv()
    problems = []
    for kind, cls, field in rows:
        spec = KINDS.get(kind)
        if spec is None:
            problems.append("%s: missing from KINDS" % kind)
            continue
        if spec.cls != cls:
            problems.append("%s: class %s, Go %s" % (kind, spec.cls, cls))
        if spec.payload_field != field:
            problems.append("%s: payload field %s, Go %s" % (kind, spec.payload_field, field))
    assert problems == []


def test_go_reject_list_names_recorded_requests():
    if not gowire.recordings_available():
        gowire.go_wire_path()   # skips, naming the missing folder
        pytest.skip("recordings absent")
    ids = set(gowire.exchange_ids())
    assert set(GO_REJECTS) <= ids and set(PYTHON_SERVES) <= ids
