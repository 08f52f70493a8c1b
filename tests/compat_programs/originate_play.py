#!/usr/bin/env python3
"""For each call entering Stasis(hello,originate): dial Local/2000, play to it, hang both up after.

Shows originate with appArgs, the StasisStart of the new channel, the Playback it returns and
on_playback_event for PlaybackFinished.
"""
import ari

client = ari.connect('http://localhost:8088/', 'hey', 'peekaboo')

dialed = {}


def started(channel, event):
    if event['args'] == ['originate']:
        out = client.channels.originate(endpoint='Local/2000@default', app='hello', appArgs='outgoing',
                                        callerId='ariproxy <100>')
        dialed[out.id] = channel
        print("originated %s" % out.id)
    elif event['args'] == ['outgoing']:
        channel.answer()
        playback = channel.play(media='sound:tt-monkeys')
        dialed[playback.id] = channel
        print("playing %s to %s" % (playback.id, channel.id))


def finished(playback, event):
    channel = dialed.pop(playback.id, None)
    if channel is None:
        return
    caller = dialed.pop(channel.id, None)
    channel.hangup()
    if caller is not None:
        caller.hangup()
    print("finished %s" % playback.id)


client.on_channel_event('StasisStart', started)
client.on_playback_event('PlaybackFinished', finished)

client.run(apps='hello')
