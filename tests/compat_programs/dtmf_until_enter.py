#!/usr/bin/env python3
"""Echo DTMF digits until '#', then stop listening; Enter on stdin ends the program.

The event loop runs in its own thread; the main thread waits for a line and closes the client,
which makes run() return.
"""
import _thread
import logging
import sys

import ari

logging.basicConfig()

client = ari.connect('http://localhost:8088/', 'hey', 'peekaboo')


def call_started(channel, event):
    listening = None

    def dtmf_received(channel, event):
        key = event['digit']
        if key == '#':
            channel.play(media='sound:goodbye')
            channel.continueInDialplan()
            listening.close()
            print("done listening to %s" % channel.id, flush=True)
        else:
            channel.play(media='sound:digits/%s' % key)
            print("digit %s" % key, flush=True)

    listening = channel.on_event('ChannelDtmfReceived', dtmf_received)
    channel.answer()
    channel.play(media='sound:hello-world')
    print("answered %s" % channel.id, flush=True)


client.on_channel_event('StasisStart', call_started)

finished = _thread.allocate_lock()


def loop():
    finished.acquire()
    client.run(apps="hello")
    finished.release()


_thread.start_new_thread(loop, ())
print("Press enter to exit", flush=True)
sys.stdin.readline()
client.close()
finished.acquire()
print("Application finished", flush=True)
