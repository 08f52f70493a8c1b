"""The ari-proxy wire protocol (Go ari-proxy v5 compatible): no I/O, no gevent.

- ``Key``, ``Request``, ``Response``, ``EntityData``, ``Announcement``: the JSON
  messages (``.encode()`` -> bytes, ``.decode(bytes)``), PROTOCOL.md 2-6.
- ``subject(prefix, cls, app, node)`` and friends: NATS subjects, with
  ``validate_token`` refusing unsafe app/node/dialog tokens.
- ``KINDS``: the request kinds table (class, payload field, ARI operation,
  payload codec), ``GENERIC_KIND`` for the ARI operations the Go kinds lack.
- ``Event``: an ARI event with its envelope and the Keys of the entities it references.

Every decoder raises ``ProtocolError`` (and nothing else) for malformed input.
"""
from ariproxy.errors import ProtocolError

from .messages import (DATA_FIELDS, KEY_KINDS, PAYLOAD_FIELDS, PING_PAYLOAD, Announcement, EntityData, Key,
                       Request, Response)
from .subjects import (CLASSES, CREATE_QUEUE_GROUP, DEFAULT_PREFIX, LISTEN_QUEUE_GROUP, REQUEST_CLASSES,
                       announce_subject, dialog_pattern, dialog_subject, event_pattern, event_subject,
                       normalize_prefix, ping_subject, request_subjects, subject, validate_token)
from .wire import MAX_MESSAGE_BYTES
from .kinds import KINDS, STAGING_KINDS, AriCall, KindSpec, entity_id, new_id
from .operations import ARI_OPERATIONS, is_read_operation
from .generic import (GENERIC_KIND, GENERIC_PAYLOAD_FIELD, GENERIC_SPEC, GenericSpec, generic_class,
                      generic_request, generic_response, generic_result, spec_for)
from .events import (DESTROYING_EVENTS, EVENT_ENTITIES, EVENT_ENTITY_FIELDS, EVENT_TYPES, ENTITY_MODELS, Event,
                     check_event_type, closest_event_types, event_entity_keys)
from .gaps import GAP_EVENT, ari_timestamp, gap_event

__all__ = [
    "ProtocolError", "Key", "Request", "Response", "EntityData", "Announcement", "DATA_FIELDS", "KEY_KINDS",
    "PAYLOAD_FIELDS", "PING_PAYLOAD", "CLASSES", "REQUEST_CLASSES", "CREATE_QUEUE_GROUP", "LISTEN_QUEUE_GROUP",
    "DEFAULT_PREFIX", "subject", "validate_token", "normalize_prefix", "request_subjects", "event_subject",
    "event_pattern", "dialog_subject", "dialog_pattern", "ping_subject", "announce_subject",
    "MAX_MESSAGE_BYTES", "KINDS", "STAGING_KINDS", "KindSpec", "AriCall", "entity_id", "new_id",
    "ARI_OPERATIONS", "is_read_operation", "GENERIC_KIND", "GENERIC_PAYLOAD_FIELD", "GENERIC_SPEC",
    "GenericSpec", "generic_class", "generic_request", "generic_response", "generic_result", "spec_for",
    "Event", "EVENT_ENTITY_FIELDS", "ENTITY_MODELS", "DESTROYING_EVENTS", "event_entity_keys",
    "GAP_EVENT", "ari_timestamp", "gap_event",
    "EVENT_TYPES", "EVENT_ENTITIES", "check_event_type", "closest_event_types",
]
