"""Route table of the simulated ARI: every operation of ARI's REST API (Asterisk 22).

One row per operation: (method, path template, resource, nickname, response class,
parameters), each parameter (name, where, required, data type, allow multiple).
Generated once from the ARI api-docs; the simulator never reads the spec at run time.
"""

ROUTES = (
    ('GET', '/applications', 'applications', 'list', 'List[Application]', (
    )),
    ('GET', '/applications/{applicationName}', 'applications', 'get', 'Application', (
        ('applicationName', 'path', True, 'string', False),
    )),
    ('POST', '/applications/{applicationName}/subscription', 'applications', 'subscribe', 'Application', (
        ('applicationName', 'path', True, 'string', False),
        ('eventSource', 'query', True, 'string', True),
    )),
    ('DELETE', '/applications/{applicationName}/subscription', 'applications', 'unsubscribe', 'Application', (
        ('applicationName', 'path', True, 'string', False),
        ('eventSource', 'query', True, 'string', True),
    )),
    ('PUT', '/applications/{applicationName}/eventFilter', 'applications', 'filter', 'Application', (
        ('applicationName', 'path', True, 'string', False),
        ('filter', 'body', False, 'object', False),
    )),
    ('GET', '/asterisk/config/dynamic/{configClass}/{objectType}/{id}', 'asterisk', 'getObject', 'List[ConfigTuple]', (
        ('configClass', 'path', True, 'string', False),
        ('objectType', 'path', True, 'string', False),
        ('id', 'path', True, 'string', False),
    )),
    ('PUT', '/asterisk/config/dynamic/{configClass}/{objectType}/{id}', 'asterisk', 'updateObject', 'List[ConfigTuple]', (
        ('configClass', 'path', True, 'string', False),
        ('objectType', 'path', True, 'string', False),
        ('id', 'path', True, 'string', False),
        ('fields', 'body', False, 'containers', False),
    )),
    ('DELETE', '/asterisk/config/dynamic/{configClass}/{objectType}/{id}', 'asterisk', 'deleteObject', 'void', (
        ('configClass', 'path', True, 'string', False),
        ('objectType', 'path', True, 'string', False),
        ('id', 'path', True, 'string', False),
    )),
    ('GET', '/asterisk/info', 'asterisk', 'getInfo', 'AsteriskInfo', (
        ('only', 'query', False, 'string', True),
    )),
    ('GET', '/asterisk/ping', 'asterisk', 'ping', 'AsteriskPing', (
    )),
    ('GET', '/asterisk/modules', 'asterisk', 'listModules', 'List[Module]', (
    )),
    ('GET', '/asterisk/modules/{moduleName}', 'asterisk', 'getModule', 'Module', (
        ('moduleName', 'path', True, 'string', False),
    )),
    ('POST', '/asterisk/modules/{moduleName}', 'asterisk', 'loadModule', 'void', (
        ('moduleName', 'path', True, 'string', False),
    )),
    ('DELETE', '/asterisk/modules/{moduleName}', 'asterisk', 'unloadModule', 'void', (
        ('moduleName', 'path', True, 'string', False),
    )),
    ('PUT', '/asterisk/modules/{moduleName}', 'asterisk', 'reloadModule', 'void', (
        ('moduleName', 'path', True, 'string', False),
    )),
    ('GET', '/asterisk/logging', 'asterisk', 'listLogChannels', 'List[LogChannel]', (
    )),
    ('POST', '/asterisk/logging/{logChannelName}', 'asterisk', 'addLog', 'void', (
        ('logChannelName', 'path', True, 'string', False),
        ('configuration', 'query', True, 'string', False),
    )),
    ('DELETE', '/asterisk/logging/{logChannelName}', 'asterisk', 'deleteLog', 'void', (
        ('logChannelName', 'path', True, 'string', False),
    )),
    ('PUT', '/asterisk/logging/{logChannelName}/rotate', 'asterisk', 'rotateLog', 'void', (
        ('logChannelName', 'path', True, 'string', False),
    )),
    ('GET', '/asterisk/variable', 'asterisk', 'getGlobalVar', 'Variable', (
        ('variable', 'query', True, 'string', False),
    )),
    ('POST', '/asterisk/variable', 'asterisk', 'setGlobalVar', 'void', (
        ('variable', 'query', True, 'string', False),
        ('value', 'query', False, 'string', False),
    )),
    ('GET', '/bridges', 'bridges', 'list', 'List[Bridge]', (
    )),
    ('POST', '/bridges', 'bridges', 'create', 'Bridge', (
        ('type', 'query', False, 'string', False),
        ('bridgeId', 'query', False, 'string', False),
        ('name', 'query', False, 'string', False),
        ('variables', 'body', False, 'containers', False),
    )),
    ('POST', '/bridges/{bridgeId}', 'bridges', 'createWithId', 'Bridge', (
        ('type', 'query', False, 'string', False),
        ('bridgeId', 'path', True, 'string', False),
        ('name', 'query', False, 'string', False),
        ('variables', 'body', False, 'containers', False),
    )),
    ('GET', '/bridges/{bridgeId}', 'bridges', 'get', 'Bridge', (
        ('bridgeId', 'path', True, 'string', False),
    )),
    ('DELETE', '/bridges/{bridgeId}', 'bridges', 'destroy', 'void', (
        ('bridgeId', 'path', True, 'string', False),
    )),
    ('GET', '/bridges/{bridgeId}/variable', 'bridges', 'getBridgeVar', 'Variable', (
        ('bridgeId', 'path', True, 'string', False),
        ('variable', 'query', True, 'string', False),
    )),
    ('POST', '/bridges/{bridgeId}/variable', 'bridges', 'setBridgeVar', 'void', (
        ('bridgeId', 'path', True, 'string', False),
        ('variable', 'query', True, 'string', False),
        ('value', 'query', False, 'string', False),
        ('report_events', 'query', False, 'boolean', False),
    )),
    ('GET', '/bridges/{bridgeId}/variables', 'bridges', 'getBridgeVars', 'Variables', (
        ('bridgeId', 'path', True, 'string', False),
        ('variables', 'query', True, 'string', True),
    )),
    ('POST', '/bridges/{bridgeId}/variables', 'bridges', 'setBridgeVars', 'void', (
        ('bridgeId', 'path', True, 'string', False),
        ('variables', 'body', True, 'containers', False),
    )),
    ('POST', '/bridges/{bridgeId}/addChannel', 'bridges', 'addChannel', 'void', (
        ('bridgeId', 'path', True, 'string', False),
        ('channel', 'query', True, 'string', True),
        ('role', 'query', False, 'string', False),
        ('absorbDTMF', 'query', False, 'boolean', False),
        ('mute', 'query', False, 'boolean', False),
        ('inhibitConnectedLineUpdates', 'query', False, 'boolean', False),
    )),
    ('POST', '/bridges/{bridgeId}/removeChannel', 'bridges', 'removeChannel', 'void', (
        ('bridgeId', 'path', True, 'string', False),
        ('channel', 'query', True, 'string', True),
    )),
    ('POST', '/bridges/{bridgeId}/videoSource/{channelId}', 'bridges', 'setVideoSource', 'void', (
        ('bridgeId', 'path', True, 'string', False),
        ('channelId', 'path', True, 'string', False),
    )),
    ('DELETE', '/bridges/{bridgeId}/videoSource', 'bridges', 'clearVideoSource', 'void', (
        ('bridgeId', 'path', True, 'string', False),
    )),
    ('POST', '/bridges/{bridgeId}/moh', 'bridges', 'startMoh', 'void', (
        ('bridgeId', 'path', True, 'string', False),
        ('mohClass', 'query', False, 'string', False),
    )),
    ('DELETE', '/bridges/{bridgeId}/moh', 'bridges', 'stopMoh', 'void', (
        ('bridgeId', 'path', True, 'string', False),
    )),
    ('POST', '/bridges/{bridgeId}/play', 'bridges', 'play', 'Playback', (
        ('bridgeId', 'path', True, 'string', False),
        ('media', 'query', True, 'string', True),
        ('announcer_format', 'query', False, 'string', False),
        ('lang', 'query', False, 'string', False),
        ('offsetms', 'query', False, 'int', False),
        ('skipms', 'query', False, 'int', False),
        ('playbackId', 'query', False, 'string', False),
    )),
    ('POST', '/bridges/{bridgeId}/play/{playbackId}', 'bridges', 'playWithId', 'Playback', (
        ('bridgeId', 'path', True, 'string', False),
        ('playbackId', 'path', True, 'string', False),
        ('media', 'query', True, 'string', True),
        ('announcer_format', 'query', False, 'string', False),
        ('lang', 'query', False, 'string', False),
        ('offsetms', 'query', False, 'int', False),
        ('skipms', 'query', False, 'int', False),
    )),
    ('POST', '/bridges/{bridgeId}/record', 'bridges', 'record', 'LiveRecording', (
        ('bridgeId', 'path', True, 'string', False),
        ('name', 'query', True, 'string', False),
        ('format', 'query', True, 'string', False),
        ('recorder_format', 'query', False, 'string', False),
        ('maxDurationSeconds', 'query', False, 'int', False),
        ('maxSilenceSeconds', 'query', False, 'int', False),
        ('ifExists', 'query', False, 'string', False),
        ('beep', 'query', False, 'boolean', False),
        ('terminateOn', 'query', False, 'string', False),
    )),
    ('GET', '/channels', 'channels', 'list', 'List[Channel]', (
    )),
    ('POST', '/channels', 'channels', 'originate', 'Channel', (
        ('endpoint', 'query', True, 'string', False),
        ('extension', 'query', False, 'string', False),
        ('context', 'query', False, 'string', False),
        ('priority', 'query', False, 'long', False),
        ('label', 'query', False, 'string', False),
        ('app', 'query', False, 'string', False),
        ('appArgs', 'query', False, 'string', False),
        ('callerId', 'query', False, 'string', False),
        ('timeout', 'query', False, 'int', False),
        ('variables', 'body', False, 'containers', False),
        ('channelId', 'query', False, 'string', False),
        ('otherChannelId', 'query', False, 'string', False),
        ('originator', 'query', False, 'string', False),
        ('formats', 'query', False, 'string', False),
    )),
    ('POST', '/channels/create', 'channels', 'create', 'Channel', (
        ('endpoint', 'query', True, 'string', False),
        ('app', 'query', True, 'string', False),
        ('appArgs', 'query', False, 'string', False),
        ('channelId', 'query', False, 'string', False),
        ('otherChannelId', 'query', False, 'string', False),
        ('originator', 'query', False, 'string', False),
        ('formats', 'query', False, 'string', False),
        ('variables', 'body', False, 'containers', False),
    )),
    ('GET', '/channels/{channelId}', 'channels', 'get', 'Channel', (
        ('channelId', 'path', True, 'string', False),
    )),
    ('POST', '/channels/{channelId}', 'channels', 'originateWithId', 'Channel', (
        ('channelId', 'path', True, 'string', False),
        ('endpoint', 'query', True, 'string', False),
        ('extension', 'query', False, 'string', False),
        ('context', 'query', False, 'string', False),
        ('priority', 'query', False, 'long', False),
        ('label', 'query', False, 'string', False),
        ('app', 'query', False, 'string', False),
        ('appArgs', 'query', False, 'string', False),
        ('callerId', 'query', False, 'string', False),
        ('timeout', 'query', False, 'int', False),
        ('variables', 'body', False, 'containers', False),
        ('otherChannelId', 'query', False, 'string', False),
        ('originator', 'query', False, 'string', False),
        ('formats', 'query', False, 'string', False),
    )),
    ('DELETE', '/channels/{channelId}', 'channels', 'hangup', 'void', (
        ('channelId', 'path', True, 'string', False),
        ('reason_code', 'query', False, 'string', False),
        ('reason', 'query', False, 'string', False),
    )),
    ('POST', '/channels/{channelId}/continue', 'channels', 'continueInDialplan', 'void', (
        ('channelId', 'path', True, 'string', False),
        ('context', 'query', False, 'string', False),
        ('extension', 'query', False, 'string', False),
        ('priority', 'query', False, 'int', False),
        ('label', 'query', False, 'string', False),
    )),
    ('POST', '/channels/{channelId}/move', 'channels', 'move', 'void', (
        ('channelId', 'path', True, 'string', False),
        ('app', 'query', True, 'string', False),
        ('appArgs', 'query', False, 'string', False),
    )),
    ('POST', '/channels/{channelId}/redirect', 'channels', 'redirect', 'void', (
        ('channelId', 'path', True, 'string', False),
        ('endpoint', 'query', True, 'string', False),
    )),
    ('POST', '/channels/{channelId}/answer', 'channels', 'answer', 'void', (
        ('channelId', 'path', True, 'string', False),
    )),
    ('POST', '/channels/{channelId}/ring', 'channels', 'ring', 'void', (
        ('channelId', 'path', True, 'string', False),
    )),
    ('DELETE', '/channels/{channelId}/ring', 'channels', 'ringStop', 'void', (
        ('channelId', 'path', True, 'string', False),
    )),
    ('POST', '/channels/{channelId}/progress', 'channels', 'progress', 'void', (
        ('channelId', 'path', True, 'string', False),
    )),
    ('POST', '/channels/{channelId}/dtmf', 'channels', 'sendDTMF', 'void', (
        ('channelId', 'path', True, 'string', False),
        ('dtmf', 'query', False, 'string', False),
        ('before', 'query', False, 'int', False),
        ('between', 'query', False, 'int', False),
        ('duration', 'query', False, 'int', False),
        ('after', 'query', False, 'int', False),
    )),
    ('POST', '/channels/{channelId}/mute', 'channels', 'mute', 'void', (
        ('channelId', 'path', True, 'string', False),
        ('direction', 'query', False, 'string', False),
    )),
    ('DELETE', '/channels/{channelId}/mute', 'channels', 'unmute', 'void', (
        ('channelId', 'path', True, 'string', False),
        ('direction', 'query', False, 'string', False),
    )),
    ('POST', '/channels/{channelId}/hold', 'channels', 'hold', 'void', (
        ('channelId', 'path', True, 'string', False),
    )),
    ('DELETE', '/channels/{channelId}/hold', 'channels', 'unhold', 'void', (
        ('channelId', 'path', True, 'string', False),
    )),
    ('POST', '/channels/{channelId}/moh', 'channels', 'startMoh', 'void', (
        ('channelId', 'path', True, 'string', False),
        ('mohClass', 'query', False, 'string', False),
    )),
    ('DELETE', '/channels/{channelId}/moh', 'channels', 'stopMoh', 'void', (
        ('channelId', 'path', True, 'string', False),
    )),
    ('POST', '/channels/{channelId}/silence', 'channels', 'startSilence', 'void', (
        ('channelId', 'path', True, 'string', False),
    )),
    ('DELETE', '/channels/{channelId}/silence', 'channels', 'stopSilence', 'void', (
        ('channelId', 'path', True, 'string', False),
    )),
    ('POST', '/channels/{channelId}/play', 'channels', 'play', 'Playback', (
        ('channelId', 'path', True, 'string', False),
        ('media', 'query', True, 'string', True),
        ('lang', 'query', False, 'string', False),
        ('offsetms', 'query', False, 'int', False),
        ('skipms', 'query', False, 'int', False),
        ('playbackId', 'query', False, 'string', False),
    )),
    ('POST', '/channels/{channelId}/play/{playbackId}', 'channels', 'playWithId', 'Playback', (
        ('channelId', 'path', True, 'string', False),
        ('playbackId', 'path', True, 'string', False),
        ('media', 'query', True, 'string', True),
        ('lang', 'query', False, 'string', False),
        ('offsetms', 'query', False, 'int', False),
        ('skipms', 'query', False, 'int', False),
    )),
    ('POST', '/channels/{channelId}/record', 'channels', 'record', 'LiveRecording', (
        ('channelId', 'path', True, 'string', False),
        ('name', 'query', True, 'string', False),
        ('format', 'query', True, 'string', False),
        ('maxDurationSeconds', 'query', False, 'int', False),
        ('maxSilenceSeconds', 'query', False, 'int', False),
        ('ifExists', 'query', False, 'string', False),
        ('beep', 'query', False, 'boolean', False),
        ('terminateOn', 'query', False, 'string', False),
    )),
    ('GET', '/channels/{channelId}/variable', 'channels', 'getChannelVar', 'Variable', (
        ('channelId', 'path', True, 'string', False),
        ('variable', 'query', True, 'string', False),
    )),
    ('POST', '/channels/{channelId}/variable', 'channels', 'setChannelVar', 'void', (
        ('channelId', 'path', True, 'string', False),
        ('variable', 'query', True, 'string', False),
        ('value', 'query', False, 'string', False),
        ('report_events', 'query', False, 'boolean', False),
    )),
    ('GET', '/channels/{channelId}/variables', 'channels', 'getChannelVars', 'Variables', (
        ('channelId', 'path', True, 'string', False),
        ('variables', 'query', True, 'string', True),
    )),
    ('POST', '/channels/{channelId}/variables', 'channels', 'setChannelVars', 'void', (
        ('channelId', 'path', True, 'string', False),
        ('variables', 'body', True, 'containers', False),
    )),
    ('POST', '/channels/{channelId}/snoop', 'channels', 'snoopChannel', 'Channel', (
        ('channelId', 'path', True, 'string', False),
        ('spy', 'query', False, 'string', False),
        ('whisper', 'query', False, 'string', False),
        ('app', 'query', True, 'string', False),
        ('appArgs', 'query', False, 'string', False),
        ('snoopId', 'query', False, 'string', False),
    )),
    ('POST', '/channels/{channelId}/snoop/{snoopId}', 'channels', 'snoopChannelWithId', 'Channel', (
        ('channelId', 'path', True, 'string', False),
        ('snoopId', 'path', True, 'string', False),
        ('spy', 'query', False, 'string', False),
        ('whisper', 'query', False, 'string', False),
        ('app', 'query', True, 'string', False),
        ('appArgs', 'query', False, 'string', False),
    )),
    ('POST', '/channels/{channelId}/dial', 'channels', 'dial', 'void', (
        ('channelId', 'path', True, 'string', False),
        ('caller', 'query', False, 'string', False),
        ('timeout', 'query', False, 'int', False),
    )),
    ('GET', '/channels/{channelId}/rtp_statistics', 'channels', 'rtpstatistics', 'RTPstat', (
        ('channelId', 'path', True, 'string', False),
    )),
    ('POST', '/channels/externalMedia', 'channels', 'externalMedia', 'Channel', (
        ('channelId', 'query', False, 'string', False),
        ('app', 'query', True, 'string', False),
        ('variables', 'body', False, 'containers', False),
        ('external_host', 'query', False, 'string', False),
        ('encapsulation', 'query', False, 'string', False),
        ('transport', 'query', False, 'string', False),
        ('connection_type', 'query', False, 'string', False),
        ('format', 'query', True, 'string', False),
        ('direction', 'query', False, 'string', False),
        ('data', 'query', False, 'string', False),
        ('transport_data', 'query', False, 'string', False),
    )),
    ('POST', '/channels/{channelId}/transfer_progress', 'channels', 'transfer_progress', 'void', (
        ('channelId', 'path', True, 'string', False),
        ('states', 'query', True, 'string', False),
    )),
    ('GET', '/deviceStates', 'deviceStates', 'list', 'List[DeviceState]', (
    )),
    ('GET', '/deviceStates/{deviceName}', 'deviceStates', 'get', 'DeviceState', (
        ('deviceName', 'path', True, 'string', False),
    )),
    ('PUT', '/deviceStates/{deviceName}', 'deviceStates', 'update', 'void', (
        ('deviceName', 'path', True, 'string', False),
        ('deviceState', 'query', True, 'string', False),
    )),
    ('DELETE', '/deviceStates/{deviceName}', 'deviceStates', 'delete', 'void', (
        ('deviceName', 'path', True, 'string', False),
    )),
    ('GET', '/endpoints', 'endpoints', 'list', 'List[Endpoint]', (
    )),
    ('PUT', '/endpoints/sendMessage', 'endpoints', 'sendMessage', 'void', (
        ('to', 'query', True, 'string', False),
        ('from', 'query', True, 'string', False),
        ('body', 'query', False, 'string', False),
        ('variables', 'body', False, 'containers', False),
    )),
    ('POST', '/endpoints/refer', 'endpoints', 'refer', 'void', (
        ('to', 'query', True, 'string', False),
        ('from', 'query', True, 'string', False),
        ('refer_to', 'query', True, 'string', False),
        ('to_self', 'query', False, 'boolean', False),
        ('variables', 'body', False, 'containers', False),
    )),
    ('GET', '/endpoints/{tech}', 'endpoints', 'listByTech', 'List[Endpoint]', (
        ('tech', 'path', False, 'string', False),
    )),
    ('GET', '/endpoints/{tech}/{resource}', 'endpoints', 'get', 'Endpoint', (
        ('tech', 'path', False, 'string', False),
        ('resource', 'path', False, 'string', False),
    )),
    ('PUT', '/endpoints/{tech}/{resource}/sendMessage', 'endpoints', 'sendMessageToEndpoint', 'void', (
        ('tech', 'path', False, 'string', False),
        ('resource', 'path', False, 'string', False),
        ('from', 'query', True, 'string', False),
        ('body', 'query', False, 'string', False),
        ('variables', 'body', False, 'containers', False),
    )),
    ('POST', '/endpoints/{tech}/{resource}/refer', 'endpoints', 'referToEndpoint', 'void', (
        ('tech', 'path', False, 'string', False),
        ('resource', 'path', False, 'string', False),
        ('from', 'query', True, 'string', False),
        ('refer_to', 'query', True, 'string', False),
        ('to_self', 'query', False, 'boolean', False),
        ('variables', 'body', False, 'containers', False),
    )),
    ('GET', '/events', 'events', 'eventWebsocket', 'Message', (
        ('app', 'query', True, 'string', True),
        ('subscribeAll', 'query', False, 'boolean', False),
    )),
    ('POST', '/events/user/{eventName}', 'events', 'userEvent', 'void', (
        ('eventName', 'path', True, 'string', False),
        ('application', 'query', True, 'string', False),
        ('source', 'query', False, 'string', True),
        ('variables', 'body', False, 'containers', False),
    )),
    ('POST', '/events/claim', 'events', 'claimChannel', 'void', (
        ('channelId', 'query', True, 'string', False),
        ('application', 'query', True, 'string', False),
    )),
    ('GET', '/mailboxes', 'mailboxes', 'list', 'List[Mailbox]', (
    )),
    ('GET', '/mailboxes/{mailboxName}', 'mailboxes', 'get', 'Mailbox', (
        ('mailboxName', 'path', True, 'string', False),
    )),
    ('PUT', '/mailboxes/{mailboxName}', 'mailboxes', 'update', 'void', (
        ('mailboxName', 'path', True, 'string', False),
        ('oldMessages', 'query', True, 'int', False),
        ('newMessages', 'query', True, 'int', False),
    )),
    ('DELETE', '/mailboxes/{mailboxName}', 'mailboxes', 'delete', 'void', (
        ('mailboxName', 'path', True, 'string', False),
    )),
    ('GET', '/playbacks/{playbackId}', 'playbacks', 'get', 'Playback', (
        ('playbackId', 'path', True, 'string', False),
    )),
    ('DELETE', '/playbacks/{playbackId}', 'playbacks', 'stop', 'void', (
        ('playbackId', 'path', True, 'string', False),
    )),
    ('POST', '/playbacks/{playbackId}/control', 'playbacks', 'control', 'void', (
        ('playbackId', 'path', True, 'string', False),
        ('operation', 'query', True, 'string', False),
    )),
    ('GET', '/recordings/stored', 'recordings', 'listStored', 'List[StoredRecording]', (
    )),
    ('GET', '/recordings/stored/{recordingName}', 'recordings', 'getStored', 'StoredRecording', (
        ('recordingName', 'path', True, 'string', False),
    )),
    ('DELETE', '/recordings/stored/{recordingName}', 'recordings', 'deleteStored', 'void', (
        ('recordingName', 'path', True, 'string', False),
    )),
    ('GET', '/recordings/stored/{recordingName}/file', 'recordings', 'getStoredFile', 'binary', (
        ('recordingName', 'path', True, 'string', False),
    )),
    ('POST', '/recordings/stored/{recordingName}/copy', 'recordings', 'copyStored', 'StoredRecording', (
        ('recordingName', 'path', True, 'string', False),
        ('destinationRecordingName', 'query', True, 'string', False),
    )),
    ('GET', '/recordings/live/{recordingName}', 'recordings', 'getLive', 'LiveRecording', (
        ('recordingName', 'path', True, 'string', False),
    )),
    ('DELETE', '/recordings/live/{recordingName}', 'recordings', 'cancel', 'void', (
        ('recordingName', 'path', True, 'string', False),
    )),
    ('POST', '/recordings/live/{recordingName}/stop', 'recordings', 'stop', 'void', (
        ('recordingName', 'path', True, 'string', False),
    )),
    ('POST', '/recordings/live/{recordingName}/pause', 'recordings', 'pause', 'void', (
        ('recordingName', 'path', True, 'string', False),
    )),
    ('DELETE', '/recordings/live/{recordingName}/pause', 'recordings', 'unpause', 'void', (
        ('recordingName', 'path', True, 'string', False),
    )),
    ('POST', '/recordings/live/{recordingName}/mute', 'recordings', 'mute', 'void', (
        ('recordingName', 'path', True, 'string', False),
    )),
    ('DELETE', '/recordings/live/{recordingName}/mute', 'recordings', 'unmute', 'void', (
        ('recordingName', 'path', True, 'string', False),
    )),
    ('GET', '/sounds', 'sounds', 'list', 'List[Sound]', (
        ('lang', 'query', False, 'string', False),
        ('format', 'query', False, 'string', False),
    )),
    ('GET', '/sounds/{soundId}', 'sounds', 'get', 'Sound', (
        ('soundId', 'path', True, 'string', False),
    )),
)
