"""ariproxy.errors: status and error-text mapping shared by every layer."""
import pytest

from ariproxy import errors
from ariproxy.jsonutil import dumps, loads, mask_url
from tests.support.secrets import NATS_PASSWORD, NATS_TOKEN


@pytest.mark.parametrize("status,cls", [
    (400, errors.BadRequest), (401, errors.Unauthorized), (404, errors.NotFound),
    (409, errors.Conflict), (422, errors.Unprocessable), (500, errors.ServerError),
    (503, errors.Busy), (418, errors.ARIError),
])
def test_error_for_status(status, cls):
    err = errors.error_for_status(status, "boom", "Reason")
    assert type(err) is cls
    assert err.status == status and err.message == "boom" and err.reason == "Reason"


@pytest.mark.parametrize("text,cls", [
    ("Non-2XX response: 404 Not Found", errors.NotFound),
    ("Non-2XX response: 404 Not Found: Channel not found", errors.NotFound),
    ("Non-2XX response: 409 Conflict: Channel not in Stasis application", errors.Conflict),
    ("Not found", errors.NotFound),
    ("Not implemented", errors.NotImplementedByServer),
    ("ARI connection is down", errors.ARIConnectionError),
    ("busy: 1000 requests in flight", errors.Busy),
    ("something else", errors.ARIError),
])
def test_error_from_text(text, cls):
    assert type(errors.error_from_text(text)) is cls


def test_error_text_round_trips_to_the_same_class():
    text = errors.error_text(404, "Not Found", "Channel not found")
    assert text == "Non-2XX response: 404 Not Found: Channel not found"
    assert isinstance(errors.error_from_text(text), errors.NotFound)
    # Go clients look for the Go server's prefix
    assert text.startswith("Non-2XX response: 404 Not Found")


def test_timeout_is_a_builtin_timeout():
    assert issubclass(errors.Timeout, TimeoutError)


def test_json_round_trip_is_compact_utf8():
    data = dumps({"a": "é<>", "b": [1, None]})
    assert data == '{"a":"é<>","b":[1,null]}'.encode("utf-8")
    assert loads(data) == {"a": "é<>", "b": [1, None]}


@pytest.mark.parametrize("url,masked", [
    ("nats://user:%s@127.0.0.1:4222" % NATS_PASSWORD, "nats://user:***@127.0.0.1:4222"),
    ("nats://%s@a:4222,nats://u:%s@b:4222" % (NATS_TOKEN, NATS_PASSWORD), "nats://***@a:4222,nats://u:***@b:4222"),
    ("http://127.0.0.1:8088/ari", "http://127.0.0.1:8088/ari"),
])
def test_mask_url(url, masked):
    assert mask_url(url) == masked
    assert NATS_PASSWORD not in mask_url(url) and NATS_TOKEN not in mask_url(url)
