#!/usr/bin/env python3
"""What ari-py code sees for a channel that is not there: requests.HTTPError, status 404."""
import requests

import ari

client = ari.connect('http://localhost:8088/', 'hey', 'peekaboo')

try:
    client.channels.get(channelId='no-such-channel')
    print("found?!")
except requests.HTTPError as e:
    print("get: %d" % e.response.status_code)

channel = client.channels.originate(endpoint='Local/1000@default', extension='1000', context='default')
channel.hangup()
try:
    channel.hangup()  # a stale object: the channel is gone
except requests.HTTPError as e:
    print("stale hangup: %d" % e.response.status_code)

try:
    client.channels.get(channelId='x', noSuchParameter=1)
except TypeError as e:
    print("bad parameter: TypeError")

client.close()
