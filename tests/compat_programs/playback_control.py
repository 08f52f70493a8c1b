#!/usr/bin/env python3
"""Play demo-congrats to every call in Stasis(hello); the caller steers the playback with DTMF.

5 pause, 8 unpause, 4 back, 6 forward, 2 from the start, # stop and back to the dialplan.
"""
import sys

import ari

client = ari.connect('http://localhost:8088/', 'hey', 'peekaboo')

ACTIONS = {'5': 'pause', '8': 'unpause', '4': 'reverse', '6': 'forward', '2': 'restart'}


def call_started(channel, event):
    channel.answer()
    playback = channel.play(media='sound:demo-congrats')
    print("playing %s on %s" % (playback.id, channel.id))

    def steer(channel, event):
        key = event['digit']
        if key in ACTIONS:
            playback.control(operation=ACTIONS[key])
            print("%s %s" % (ACTIONS[key], playback.id))
        elif key == '#':
            playback.stop()
            channel.continueInDialplan()
            print("stopped %s" % playback.id)
        else:
            print("unknown DTMF %s" % key, file=sys.stderr)

    channel.on_event('ChannelDtmfReceived', steer)


client.on_channel_event('StasisStart', call_started)

client.run(apps='hello')
