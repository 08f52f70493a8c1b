"""ariproxy.ari over HTTP: the operations table against the spec, and every operation sent for real.

The walk runs against a small recording HTTP server (gevent pywsgi on a free
port) that stores what it receives, so method, path, query and body
placement are checked on the wire.
"""
import glob
import json
import logging
import os
import socket
from urllib.parse import parse_qsl, unquote

import gevent
import pytest
from gevent.pywsgi import WSGIHandler, WSGIServer

from ariproxy import errors
from ariproxy.ari import ARI, OPERATIONS, operation_for
from tests.support.secrets import ARI_PASSWORD as PASSWORD
from tests.support.shared import shared_path


class RawURIHandler(WSGIHandler):
    """Keeps the request target as it came on the wire (pywsgi only passes the decoded path)."""

    def get_environ(self):
        environ = super().get_environ()
        environ["RAW_URI"] = self.path
        return environ


class RecordingServer:
    """HTTP server that records requests and answers what the test scripted (default: 200 JSON echo)."""

    def __init__(self):
        self.received = []
        self.answers = {}   # (method, path) -> (status line, headers, body bytes)
        self.delay = 0
        self.server = WSGIServer(("127.0.0.1", 0), self.app, log=None, error_log=None,
                                handler_class=RawURIHandler)

    def start(self):
        self.server.start()
        self.url = "http://127.0.0.1:%d/ari" % self.server.server_port
        return self

    def stop(self):
        self.server.stop(timeout=1)

    def app(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        path = unquote(environ["PATH_INFO"])
        record = {
            "method": environ["REQUEST_METHOD"],
            "raw_path": environ["RAW_URI"].split("?")[0],
            "path": path,
            "query": parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True),
            "body": json.loads(body) if body else None,
            "content_type": environ.get("CONTENT_TYPE"),
            "authorization": environ.get("HTTP_AUTHORIZATION"),
        }
        self.received.append(record)
        if self.delay:
            gevent.sleep(self.delay)
        answer = self.answers.get((record["method"], path))
        if answer is None:
            payload = json.dumps({"echo": path}).encode()
            answer = ("200 OK", [("Content-type", "application/json")], payload)
        status, headers, payload = answer
        start_response(status, headers + [("Content-Length", str(len(payload)))])
        return [payload]


@pytest.fixture
def recorder():
    server = RecordingServer().start()
    yield server
    server.stop()


@pytest.fixture(params=["requests", "native"])
def ari(recorder, request):
    """Every test here runs with both HTTP clients: they must put every parameter in the same place."""
    client = ARI(recorder.url, "asterisk", PASSWORD, app="test", timeout=2.0, connect_timeout=1.0,
                 rest_transport="http", http_client=request.param)
    assert client.http.client == request.param
    yield client
    client.close()


def test_default_http_client_is_requests(recorder):
    client = ARI(recorder.url, "asterisk", PASSWORD, app="test", rest_transport="http")
    try:
        assert client.http.client == "requests" and client.http.session is not None
        assert client.call("asterisk", "getInfo") == {"echo": "/ari/asterisk/info"}
        assert recorder.received[-1]["path"] == "/ari/asterisk/info"
    finally:
        client.close()


def test_bad_http_client_is_refused():
    with pytest.raises(errors.ValidationError) as info:
        ARI("http://127.0.0.1:1/ari", http_client="curl")
    assert info.value.parameter == "http_client"


# -- the table against Asterisk's spec ------------------------------------------------------------

def _spec_operations():
    rows = {}
    for filename in sorted(glob.glob(os.path.join(shared_path("ari-api-docs"), "*.json"))):
        resource = os.path.splitext(os.path.basename(filename))[0]
        with open(filename) as f:
            doc = json.load(f)
        for api in doc.get("apis", []):
            for op in api.get("operations", []):
                if resource == "resources" or op.get("upgrade") == "websocket":
                    continue
                rows[(resource, op["nickname"])] = (api["path"], op)
    return rows


def test_table_matches_spec():
    spec = _spec_operations()
    assert len(spec) == 108, "the spec has 108 REST operations besides the /events websocket"
    assert set(OPERATIONS) == set(spec)
    for key, (path, op) in spec.items():
        ours = OPERATIONS[key]
        assert ours.method == op["httpMethod"], key
        assert ours.path == path, key
        assert ours.response_class == op.get("responseClass", ""), key
        assert [p.name for p in ours.params] == [p["name"] for p in op.get("parameters", [])], key
        for p, sp in zip(ours.params, op.get("parameters", [])):
            assert p.where == sp["paramType"], (key, p.name)
            assert p.type == sp["dataType"], (key, p.name)
            assert p.required == (sp["paramType"] == "path" or bool(sp.get("required"))), (key, p.name)
            assert p.allow_multiple == bool(sp.get("allowMultiple")), (key, p.name)
            allowed = sp.get("allowableValues") or {}
            if allowed.get("valueType") == "LIST":
                assert list(p.allowed_values) == allowed["values"], (key, p.name)
            else:
                assert p.allowed_values is None, (key, p.name)
            if allowed.get("valueType") == "RANGE":
                assert (p.minimum, p.maximum) == (allowed.get("min"), allowed.get("max")), (key, p.name)


def test_table_has_no_description_text():
    import ariproxy.ari.operations_table as table
    with open(table.__file__) as f:
        text = f.read()
    for phrase in ("description", "summary", "notes"):
        assert phrase not in text.split('"""', 2)[2]


def test_operation_for_routes_literal_paths_first():
    assert operation_for("POST", "/channels/create")[0].name == "channels.create"
    assert operation_for("POST", "/channels/externalMedia")[0].name == "channels.externalMedia"
    assert operation_for("POST", "/channels/abc")[0].name == "channels.originateWithId"
    op, params = operation_for("GET", "/endpoints/PJSIP/100")
    assert (op.name, params) == ("endpoints.get", {"tech": "PJSIP", "resource": "100"})
    assert operation_for("GET", "/nosuch") is None
    assert operation_for("PATCH", "/channels") is None


# -- every operation on the wire ---------------------------------------------------------------------

def _sample(op, p, index):
    """A value for parameter ``p`` and the text ARI should receive for it."""
    if p.where == "body":
        if p.type == "object":
            value = {"allowed": [{"type": "StasisStart"}]}
            return value, value
        if p.name == "fields":
            value = [{"attribute": "max_contacts", "value": "1"}]
        else:
            value = {"VAR_%d" % index: "value %d" % index, "CALLERID(name)": "Alice"}
        return value, {p.name: value}
    if p.allowed_values:
        values = list(p.allowed_values[:2]) if p.allow_multiple else p.allowed_values[-1]
        return values, ",".join(values) if p.allow_multiple else values
    if p.type == "boolean":
        return True, "true"
    if p.type in ("int", "long"):
        number = (p.minimum or 0) + 7
        return number, str(number)
    if p.allow_multiple:
        values = ["%s-a" % p.name, "%s b/%d" % (p.name, index)]
        return values, ",".join(values)
    if p.where == "path":
        # Characters that must be escaped in a path segment.
        text = "%s id:%d;x" % (p.name, index)
        return text, text
    text = "%s value/%d &=?" % (p.name, index)
    return text, text


@pytest.mark.parametrize("key", sorted(OPERATIONS), ids=lambda k: "%s.%s" % k)
def test_every_operation_reaches_the_wire(ari, recorder, key):
    op = OPERATIONS[key]
    params, expect_path, expect_query, expect_body = {}, op.path, [], None
    for index, p in enumerate(op.params):
        value, wire = _sample(op, p, index)
        params[p.name] = value
        if p.where == "path":
            expect_path = expect_path.replace("{%s}" % p.name, wire)
        elif p.where == "query":
            expect_query.append((p.name, wire))
        else:
            expect_body = wire
    if op.binary:
        recorder.answers[(op.method, "/ari" + expect_path)] = (
            "200 OK", [("Content-Type", "audio/wav")], b"RIFF\x00\x01binary")
    result = ari.call(op.resource, op.nickname, **params)
    assert len(recorder.received) == 1
    got = recorder.received[0]
    assert got["method"] == op.method
    assert got["path"] == "/ari" + expect_path
    assert "%" in got["raw_path"] or "{" not in op.path, "path parameters are escaped on the wire"
    assert got["query"] == expect_query
    assert got["body"] == expect_body
    if expect_body is not None:
        assert got["content_type"] == "application/json"
    assert got["authorization"].startswith("Basic ")
    if op.binary:
        assert result == b"RIFF\x00\x01binary"
    else:
        assert result == {"echo": "/ari" + expect_path}


def test_only_required_parameters_are_sent(ari, recorder):
    ari.call("channels", "originate", endpoint="Local/1000@default", app="test", context=None)
    assert recorder.received[0]["query"] == [("endpoint", "Local/1000@default"), ("app", "test")]
    assert recorder.received[0]["body"] is None


# -- validation before sending -------------------------------------------------------------------------

@pytest.mark.parametrize("call, parameter", [
    (("channels", "originate", {"app": "test"}), "endpoint"),
    (("channels", "hangup", {"channelId": "c1", "reason": "bogus"}), "reason"),
    (("channels", "answer", {"channelId": ""}), "channelId"),
    (("channels", "answer", {"channelId": "c1", "bogus": 1}), "bogus"),
    (("channels", "originate", {"endpoint": "Local/1", "timeout": "soon"}), "timeout"),
    (("channels", "originate", {"endpoint": "Local/1", "timeout": True}), "timeout"),
    (("bridges", "play", {"bridgeId": "b", "media": "sound:x", "skipms": -1}), "skipms"),
    (("bridges", "addChannel", {"bridgeId": "b", "channel": "c", "mute": "maybe"}), "mute"),
    (("asterisk", "getInfo", {"only": ["system", "nope"]}), "only"),
    (("channels", "setChannelVars", {"channelId": "c1", "variables": "A=1"}), "variables"),
    (("applications", "filter", {"applicationName": "a", "filter": ["x"]}), "filter"),
    (("channels", "getChannelVar", {"channelId": "c1", "variable": {"a": 1}}), "variable"),
])
def test_bad_parameters_are_refused_before_sending(ari, recorder, call, parameter):
    resource, nickname, params = call
    with pytest.raises(errors.ValidationError) as info:
        ari.call(resource, nickname, **params)
    assert info.value.parameter == parameter
    assert repr(parameter) in str(info.value)
    assert recorder.received == []


def test_unknown_operation_is_refused(ari):
    with pytest.raises(errors.ValidationError):
        ari.call("channels", "teleport", channelId="c1")


def test_bad_rest_transport_is_refused():
    with pytest.raises(errors.ValidationError):
        ARI("http://127.0.0.1:1/ari", rest_transport="carrier-pigeon")


# -- answers and errors --------------------------------------------------------------------------------

def _json(status, doc, extra=()):
    return (status, [("Content-type", "application/json")] + list(extra), json.dumps(doc).encode())


@pytest.mark.parametrize("status, doc, exc", [
    ("404 Not Found", {"message": "Channel not found"}, errors.NotFound),
    ("404 Variable Not Found", {"message": "Provided variable was not found"}, errors.NotFound),
    ("409 Conflict", {"message": "Channel not in Stasis application"}, errors.Conflict),
    ("400 Bad Request", {"message": "Variable name is required"}, errors.BadRequest),
    ("422 Unprocessable Entity", {"message": "Event source does not exist"}, errors.Unprocessable),
    ("500 Internal Server Error", {"error": "Allocation failed"}, errors.ServerError),
    ("403 Forbidden", {"message": "Unsupported channel type"}, errors.Forbidden),
])
def test_asterisk_errors_keep_status_message_and_reason(ari, recorder, status, doc, exc):
    recorder.answers[("GET", "/ari/channels/c1")] = _json(status, doc)
    with pytest.raises(exc) as info:
        ari.call("channels", "get", channelId="c1")
    code, reason = status.split(" ", 1)
    assert info.value.status == int(code)
    assert info.value.reason == reason
    assert info.value.message == (doc.get("message") or doc.get("error"))


def test_unauthorized_and_non_json_errors(ari, recorder):
    recorder.answers[("GET", "/ari/asterisk/info")] = _json(
        "401 Unauthorized", {"message": "Authentication required"},
        [("WWW-Authenticate", 'Basic realm="Asterisk REST Interface"')])
    with pytest.raises(errors.Unauthorized) as info:
        ari.info()
    assert info.value.message == "Authentication required"
    recorder.answers[("GET", "/ari/asterisk/info")] = ("426 Upgrade Required", [("Content-Type", "text/html")],
                                                       b"<html>426</html>")
    with pytest.raises(errors.ARIError) as info:
        ari.info()
    assert info.value.status == 426 and info.value.message == "Upgrade Required"


def test_no_content_is_none(ari, recorder):
    recorder.answers[("POST", "/ari/channels/c1/answer")] = ("204 No Content", [], b"")
    assert ari.call("channels", "answer", channelId="c1") is None


def test_low_level_request(ari, recorder):
    assert ari.request("get", "asterisk/variable", query={"variable": "X", "skip": None}) == \
        {"echo": "/ari/asterisk/variable"}
    assert recorder.received[0]["query"] == [("variable", "X")]
    ari.request("POST", "/channels/c1/variables", body={"variables": {"A": "1"}})
    assert recorder.received[1]["body"] == {"variables": {"A": "1"}}


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_connection_refused_is_connection_error_without_credentials(caplog):
    caplog.set_level(logging.DEBUG)
    url = "http://asterisk:%s@127.0.0.1:%d/ari" % (PASSWORD, _free_port())
    client = ARI(url, app="test", rest_transport="http", connect_timeout=1.0)
    with pytest.raises(errors.ARIConnectionError) as info:
        client.info()
    assert PASSWORD not in str(info.value) and PASSWORD not in repr(client)
    assert "asterisk:" not in str(info.value)
    assert PASSWORD not in caplog.text
    client.close()


def test_read_timeout_is_timeout(ari, recorder, caplog):
    caplog.set_level(logging.DEBUG)
    recorder.delay = 1.0
    with pytest.raises(errors.Timeout):
        ari.call("asterisk", "ping", _timeout=0.1)
    assert PASSWORD not in caplog.text


def test_credentials_sent_as_basic_auth_only(ari, recorder, caplog):
    import base64
    caplog.set_level(logging.DEBUG)
    ari.info()
    assert recorder.received[0]["authorization"] == \
        "Basic " + base64.b64encode(("asterisk:" + PASSWORD).encode()).decode()
    assert PASSWORD not in caplog.text and PASSWORD not in repr(ari)


def test_many_greenlets_share_the_pool(ari, recorder):
    jobs = [gevent.spawn(ari.call, "channels", "get", channelId="c%d" % i) for i in range(50)]
    gevent.joinall(jobs, timeout=10, raise_error=True)
    assert sorted(j.value["echo"] for j in jobs) == sorted("/ari/channels/c%d" % i for i in range(50))


def test_generated_table_is_up_to_date():
    import importlib.util
    import ariproxy.ari.operations_table as table
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    spec = importlib.util.spec_from_file_location("gen_ari_operations",
                                                  os.path.join(repo, "tools", "gen_ari_operations.py"))
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    with open(table.__file__) as f:
        assert f.read() == gen.render(*gen.read_spec(shared_path("ari-api-docs"))), \
            "run tools/gen_ari_operations.py"
