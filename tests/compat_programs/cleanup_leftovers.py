#!/usr/bin/env python3
"""Hang up every channel and destroy every bridge left behind (say, by a crashed application)."""
import requests

import ari

client = ari.connect('http://localhost:8088/', 'hey', 'peekaboo')

hung_up = destroyed = 0
for channel in client.channels.list():
    try:
        channel.hangup(reason='normal')
        hung_up += 1
    except requests.HTTPError as e:
        if e.response.status_code != 404:  # gone in the meantime is fine
            raise
for bridge in client.bridges.list():
    try:
        bridge.destroy()
        destroyed += 1
    except requests.HTTPError as e:
        if e.response.status_code != 404:
            raise
print("hung up %d channels, destroyed %d bridges" % (hung_up, destroyed))
print("left: %d channels, %d bridges" % (len(client.channels.list()), len(client.bridges.list())))
client.close()
