#!/usr/bin/env python3
"""Connect incoming calls to an outgoing one.

A call entering Stasis(hello,incoming) is answered, hears a message and waits in a holding bridge
while the program dials OUTGOING.  Once that channel is in Stasis, both go into a new mixing
bridge.  When either side goes away the other is hung up (a 404 is fine: it may be gone already).
"""
import requests

import ari

from requests import HTTPError

OUTGOING = "SIP/blink"

client = ari.connect('http://localhost:8088/', 'hey', 'peekaboo')

found = [b for b in client.bridges.list() if b.json['bridge_type'] == 'holding']
if found:
    holding = found[0]
    print("holding bridge %s (existing)" % holding.id)
else:
    holding = client.bridges.create(type='holding')
    print("holding bridge %s (new)" % holding.id)


def hang_up_quietly(channel):
    try:
        channel.hangup()
    except HTTPError as e:
        if e.response.status_code != requests.codes.not_found:
            raise
        print("already gone %s" % channel.id)


def incoming_started(incoming, event):
    if event['args'] != ['incoming']:
        return
    incoming.answer()
    incoming.play(media="sound:pls-wait-connect-call")
    holding.addChannel(channel=incoming.id)

    outgoing = client.channels.originate(endpoint=OUTGOING, app="hello", appArgs="dialed")
    print("dialing %s for %s" % (outgoing.id, incoming.id))

    incoming.on_event('StasisEnd', lambda *args: hang_up_quietly(outgoing))
    outgoing.on_event('ChannelDestroyed', lambda *args: hang_up_quietly(incoming))

    def outgoing_started(channel, event):
        mixing = client.bridges.create(type='mixing')
        outgoing.answer()
        mixing.addChannel(channel=[incoming.id, outgoing.id])
        print("connected %s %s in %s" % (incoming.id, outgoing.id, mixing.id))
        outgoing.on_event('StasisEnd', lambda *args: mixing.destroy())

    outgoing.on_event('StasisStart', outgoing_started)


client.on_channel_event('StasisStart', incoming_started)

client.run(apps="hello")
