#!/usr/bin/env python3
"""Answer every call that enters Stasis(hello) and say hello; DTMF digits are played back.

'#' says goodbye and sends the call back to the dialplan, '*' plays a special message.
"""
import ari

client = ari.connect('http://localhost:8088/', 'hey', 'peekaboo')


def dtmf_received(channel, event):
    key = event['digit']
    if key == '#':
        channel.play(media='sound:goodbye')
        channel.continueInDialplan()
        print("bye %s" % channel.id)
    elif key == '*':
        channel.play(media='sound:asterisk-friend')
    else:
        channel.play(media='sound:digits/%s' % key)
        print("digit %s on %s" % (key, channel.id))


def call_started(channel, event):
    channel.on_event('ChannelDtmfReceived', dtmf_received)
    channel.answer()
    channel.play(media='sound:hello-world')
    print("answered %s" % channel.id)


client.on_channel_event('StasisStart', call_started)

client.run(apps="hello")
