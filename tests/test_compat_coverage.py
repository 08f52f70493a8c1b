"""Every operation of the ARI spec under its ari-py name, reaching Asterisk over both backends.

The names come from ``ariproxy.ari.OPERATIONS`` (the operations table generated from Asterisk's
spec) and are cross-checked against the spec itself in ``../shared/ari-api-docs`` when present;
so are the event fields that become model objects.
"""
import json
import os

import pytest
import requests

from ariproxy.ari import OPERATIONS
from ariproxy.compat import ari
from ariproxy.compat.events import MODEL_FIELDS
from ariproxy.compat.model import MODEL_CLASSES, REPOSITORY_CLASSES
from tests.compat_programs.harness import APP, backend, http_backend, nats_backend  # noqa: F401
from tests.support.shared import shared_path


def test_every_operation_is_a_method_under_its_nickname():
    for (resource, nickname), op in OPERATIONS.items():
        method = getattr(REPOSITORY_CLASSES[resource], nickname, None)
        assert callable(method), "%s.%s missing" % (resource, nickname)
        assert op.path in method.__doc__
    for model, cls in MODEL_CLASSES.items():
        for (resource, nickname), op in OPERATIONS.items():
            if resource == cls.resource:
                assert callable(getattr(cls, nickname, None)), "%s.%s missing" % (model, nickname)
    assert set(REPOSITORY_CLASSES) == {r for r, _ in OPERATIONS}


def test_names_match_asterisks_spec():
    folder = shared_path("ari-api-docs")
    with open(os.path.join(folder, "resources.json")) as f:
        listing = json.load(f)
    spec_ops = set()
    for api in listing["apis"]:
        name = api["path"].split("/")[-1].split(".")[0]
        with open(os.path.join(folder, name + ".json")) as f:
            for entry in json.load(f)["apis"]:
                for operation in entry["operations"]:
                    if operation.get("upgrade") == "websocket":
                        continue  # the events websocket: client.run(apps=...)
                    spec_ops.add((name, operation["nickname"]))
    assert spec_ops == set(OPERATIONS)
    for resource, nickname in spec_ops:
        assert callable(getattr(REPOSITORY_CLASSES[resource], nickname, None))


def test_event_object_fields_match_the_spec():
    """ari-py passes the fields whose Swagger type is the model: the same fields, in the same order."""
    with open(shared_path("ari-api-docs", "events.json")) as f:
        models = json.load(f)["models"]
    events, todo = set(), ["Message"]
    while todo:  # every concrete subtype of Message (Swagger 1.1 lists them under subTypes)
        subtypes = models[todo.pop()].get("subTypes") or []
        todo.extend(subtypes)
        events.update(subtypes)
    events -= {"Event"}
    assert len(events) > 40 and events == set(MODEL_FIELDS) | {"MissingParams"}
    for name in sorted(events - {"MissingParams"}):
        props = dict(models[name]["properties"])
        for parent in ("Event", "Message"):  # inherited fields (type, application, ...) hold no model
            props.update({k: v for k, v in models[parent]["properties"].items() if k not in props})
        for model in MODEL_CLASSES:
            expected = tuple(k for k, v in props.items() if v["type"] == model)
            assert MODEL_FIELDS[name].get(model, ()) == expected, (name, model)


def _dummy(p):
    if p.allowed_values:
        return p.allowed_values[0]
    if p.type == "boolean":
        return True
    if p.type in ("int", "long"):
        return p.minimum if p.minimum is not None else 1
    if p.type == "object":
        return {}
    if p.type == "containers":
        return {}
    return "x"


def _params(op):
    return {p.name: _dummy(p) for p in op.params if p.required}


def test_every_operation_reaches_asterisk(backend):
    """Each operation, called by its ari-py name with its required parameters, arrives at the
    simulator as that operation's HTTP method and path (whatever Asterisk then answers)."""
    if backend.proxy is not None:
        client = ari.connect(backend.proxy.nats_url, app=APP)
    else:
        client = ari.connect(backend.sim.base_url + "/", "asterisk", "asterisk")
    try:
        for (resource, nickname), op in sorted(OPERATIONS.items()):
            params = _params(op)
            expected = op.prepare(params)
            mark = len(backend.sim.requests)
            try:
                getattr(client, resource).__getattribute__(nickname)(**params)
            except requests.HTTPError as exc:
                assert exc.response.status_code >= 400
            seen = [(e["method"], e["path"]) for e in backend.sim.requests[mark:]]
            assert (expected.method, expected.path) in seen, "%s.%s: sent %s" % (resource, nickname, seen)
    finally:
        client.close()
