"""What an event means for the entities a subscription follows (used by ``events``).

- ``ends_entity(key, event)``: the event ends that very entity (not merely one it concerns);
- ``destroyed_error(key, event, wanted, dialstatus)``: the ``HungUp``/``EntityDestroyed`` a wait raises
  when its entity ends before what it waited for;
- ``related_entities(event)``: entities an event concerns without an entity field for them (the
  channel or bridge of a playback/recording's ``target_uri``, the channel a snoop spies on), so
  their subscriptions get it too.

No I/O.
"""
from ariproxy.errors import EntityDestroyed, HungUp

__all__ = ["ends_entity", "destroyed_error", "related_entities"]


def ends_entity(key, event):
    """True when ``event`` ends the entity ``key`` names (not another one it merely concerns, such as
    a snoop channel's ChannelDestroyed delivered to the spied-on channel)."""
    if key is None or not key.id or not key.kind:
        return True
    return any(k.kind == key.kind and k.id == key.id for k in event.destroys())


def destroyed_error(key, event, wanted, dialstatus=""):
    """The exception for a wait that cannot succeed: ``key``'s entity ended with ``event``."""
    what = "/".join(sorted(wanted)) or "an event"
    kind = key.kind if key is not None else ""
    ident = key.id if key is not None else ""
    body = event.body if event is not None else {}
    if kind == "channel":
        cause = body.get("cause")
        cause_txt = body.get("cause_txt") or ""
        detail = "cause %s: %s" % (cause, cause_txt or "?") if cause is not None else "no cause given"
        if dialstatus:
            detail += "; dial status %s" % dialstatus
        return HungUp("channel %s hung up (%s) while waiting for %s" % (ident, detail, what), kind, ident,
                      event, cause, cause_txt, dialstatus, wanted)
    state = ""
    for field in ("playback", "recording"):
        if isinstance(body.get(field), dict):
            state = body[field].get("state") or ""
    return EntityDestroyed("%s %s ended (%s%s) while waiting for %s"
                           % (kind or "entity", ident, event.type if event is not None else "?",
                              ", state " + state if state else "", what), kind, ident, event, waited_for=wanted)


def related_entities(event):
    """Entities an event concerns without an entity field for them: the channel or bridge a playback
    or recording is on (``target_uri``), the channel a snoop channel spies on (``Snoop/<id>-n``)."""
    body = event.body
    for field in ("playback", "recording"):
        obj = body.get(field)
        if isinstance(obj, dict):
            target = obj.get("target_uri")
            if isinstance(target, str):
                kind, _, ident = target.partition(":")
                if ident and kind in ("channel", "bridge"):
                    return [(kind, ident)]
            return []
    chan = body.get("channel")
    if isinstance(chan, dict):
        name = chan.get("name")
        if isinstance(name, str) and name.startswith("Snoop/"):
            ident = name[6:].rpartition("-")[0]
            if ident:
                return [("channel", ident)]
    return []
