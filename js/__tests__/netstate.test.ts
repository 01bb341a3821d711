/**
 * e2e: NET_STATE_CHANGE across a server restart (through the Node addon): the link dies, the
 * client reports disconnected/connecting, reconnects and re-authenticates when the server is
 * back, reports connected, and does not emit SDK_NOT_READY / SDK_READY again.
 */
import TencentCloudChat, { EVENT, TYPES } from '../src/index';
import { genUserSig, NatterServer, Recorder, SDK_APP_ID } from './helpers/server';

test('NET_STATE_CHANGE across a server restart; the session survives without SDK_NOT_READY/SDK_READY', async () => {
  const server = await NatterServer.start();
  const chat = TencentCloudChat.create({ SDKAppID: SDK_APP_ID, proxyServer: server.wsUrl, heartbeatIntervalMs: 500 });
  try {
    const rec = new Recorder(chat);
    await chat.login({ userID: 'ns', userSig: genUserSig('ns') });
    await rec.next(EVENT.SDK_READY);
    expect(rec.names().filter((n) => n === EVENT.NET_STATE_CHANGE).pop()).toBe(EVENT.NET_STATE_CHANGE);
    const firstConnected = rec.events.filter((e) => e.name === EVENT.NET_STATE_CHANGE).pop();
    expect(firstConnected?.data).toEqual({ state: TYPES.NET_STATE_CONNECTED, reason: 'loggedIn' });

    await server.stop();
    const lost = await rec.next(EVENT.NET_STATE_CHANGE, 10000);
    expect([TYPES.NET_STATE_DISCONNECTED, TYPES.NET_STATE_CONNECTING]).toContain(lost.data.state);
    // Natter additions: why, and (while waiting out the backoff) in how long the next attempt starts.
    if (lost.data.state === TYPES.NET_STATE_DISCONNECTED) {
      expect(lost.data.reason).toBe('linkLost');
      expect(typeof lost.data.retryInMs).toBe('number');
    }

    await server.restart();
    await rec.next(EVENT.NET_STATE_CHANGE, 30000, (e) => e.data.state === TYPES.NET_STATE_CONNECTED);
    expect(chat.isReady()).toBe(true);
    expect(chat.getLoginUser()).toBe('ns');
    const names = rec.names();
    expect(names.filter((n) => n === EVENT.SDK_READY)).toHaveLength(1);
    expect(names).not.toContain(EVENT.SDK_NOT_READY);
    // Only changes are reported: no two identical states in a row.
    const states = rec.events.filter((e) => e.name === EVENT.NET_STATE_CHANGE).map((e) => e.data.state);
    for (let i = 1; i < states.length; i++) expect(states[i]).not.toBe(states[i - 1]);

    // The session really works on the new server: the admin can see and kick it.
    const res = await server.kick('ns');
    expect(res.ActionStatus).toBe('OK');
    expect((await rec.next(EVENT.KICKED_OUT)).data).toEqual({ type: TYPES.KICKED_OUT_REST_API });
  } finally {
    await chat.destroy();
    await server.stop();
  }
});

test('a re-login refused after a reconnect (the server came back with another secret key) raises ERROR {code, message}, then SDK_NOT_READY', async () => {
  const server = await NatterServer.start();
  const chat = TencentCloudChat.create({ SDKAppID: SDK_APP_ID, proxyServer: server.wsUrl, instanceName: 'rotated', heartbeatIntervalMs: 500 });
  try {
    const rec = new Recorder(chat);
    await chat.login({ userID: 'rot', userSig: genUserSig('rot') });
    await rec.next(EVENT.SDK_READY);
    await server.stop();
    await server.restart({ args: ['--secret-key', 'a-rotated-secret-key'] });
    const error = await rec.next(EVENT.ERROR, 30000);
    expect(error.data.code).toBe(70009);
    expect(typeof error.data.message).toBe('string');
    await rec.next(EVENT.SDK_NOT_READY);
    expect(chat.isReady()).toBe(false);
    expect(chat.getLoginUser()).toBe('');
    // The app logs in again with a UserSig of the new key: works.
    const r = await chat.login({ userID: 'rot', userSig: genUserSig('rot', 86400, { key: 'a-rotated-secret-key' }) });
    expect(r.data.repeatLogin).toBe(false);
    await rec.next(EVENT.SDK_READY);
  } finally {
    await chat.destroy();
    await server.stop();
  }
});
