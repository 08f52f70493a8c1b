#!/usr/bin/env python3
"""Every call entering Stasis(hello) is answered and put in one holding bridge.

The bridge is reused when one exists; each channel entering it makes the bridge play a tone.
"""
import ari

client = ari.connect('http://localhost:8088/', 'hey', 'peekaboo')

holding = [b for b in client.bridges.list() if b.json['bridge_type'] == 'holding']
if holding:
    bridge = holding[0]
    print("reusing bridge %s" % bridge.id)
else:
    bridge = client.bridges.create(type='holding')
    print("new bridge %s" % bridge.id)


def entered(bridge, event):
    if event['channel']['name'].startswith('Announcer/'):
        return  # the bridge's own announcer
    bridge.play(media="sound:ascending-2tone")
    print("tone for %s" % event['channel']['id'])


bridge.on_event('ChannelEnteredBridge', entered)


def call_started(channel, event):
    channel.answer()
    bridge.addChannel(channel=channel.id)


client.on_channel_event('StasisStart', call_started)

client.run(apps='hello')
