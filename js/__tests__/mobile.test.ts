/**
 * e2e (through the Node addon, against a real natter-server): sessions on phones. UserSig
 * renewal on the open link by a `userSigProvider` and by `updateUserSig` after
 * `USER_SIG_EXPIRING`, a wrong user's sig refused with 70013 while the session continues,
 * `setNetworkReachable` / `setAppState`, NET_STATE_CHANGE `reason`, and `getSessionState()`
 * after each event.
 */
import TencentCloudChat, { EVENT, TYPES } from '../src/index';
import { genUserSig, NatterServer, Recorder, rejection, SDK_APP_ID } from './helpers/server';

/** Sigs living this many seconds: renewal is due at half of it. */
const SHORT = 4;

let server: NatterServer;
beforeAll(async () => {
  server = await NatterServer.start();
});
afterAll(async () => {
  await server.stop();
});

/** Resolves after `ms`; used only where the waiting is the test (nothing may happen meanwhile). */
const quietFor = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a userSigProvider renews short sigs ahead of expiry: no kick, no SDK_NOT_READY', async () => {
  let calls = 0;
  const chat = TencentCloudChat.create({
    SDKAppID: SDK_APP_ID,
    proxyServer: server.wsUrl,
    instanceName: 'provider',
    userSigProvider: async () => {
      calls += 1;
      return genUserSig('prov', SHORT);
    },
  });
  try {
    const rec = new Recorder(chat);
    await chat.login({ userID: 'prov', userSig: genUserSig('prov', SHORT) });
    await rec.next(EVENT.SDK_READY);
    const first = chat.getSessionState();
    expect(first).toMatchObject({ ready: true, loginUser: 'prov', netState: TYPES.NET_STATE_CONNECTED, reconnectAttempt: 0 });
    expect(first.userSigExpireTime).toBeGreaterThan(Date.now());
    await quietFor(SHORT * 2500);
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(rec.names()).not.toContain(EVENT.SDK_NOT_READY);
    expect(rec.names()).not.toContain(EVENT.KICKED_OUT);
    expect(rec.names()).not.toContain(EVENT.USER_SIG_EXPIRING);
    const later = chat.getSessionState();
    expect(later.ready).toBe(true);
    expect(later.userSigExpireTime as number).toBeGreaterThan(first.userSigExpireTime as number);
  } finally {
    await chat.destroy();
  }
});

test('a provider that keeps failing ends in the usual userSigExpired kick', async () => {
  const chat = TencentCloudChat.create({
    SDKAppID: SDK_APP_ID,
    proxyServer: server.wsUrl,
    instanceName: 'failing',
    userSigProvider: () => Promise.reject(new Error('backend down')),
  });
  try {
    const rec = new Recorder(chat);
    await chat.login({ userID: 'fail', userSig: genUserSig('fail', 3) });
    expect((await rec.next(EVENT.KICKED_OUT, 15000)).data).toEqual({ type: TYPES.KICKED_OUT_USERSIG_EXPIRED });
    await rec.next(EVENT.SDK_NOT_READY);
    expect(chat.getSessionState()).toMatchObject({ ready: false, lastKick: { type: TYPES.KICKED_OUT_USERSIG_EXPIRED } });
  } finally {
    await chat.destroy();
  }
});

test('without a provider: USER_SIG_EXPIRING {expireTime} in time, updateUserSig keeps the session; a wrong user is 70013', async () => {
  const chat = TencentCloudChat.create({ SDKAppID: SDK_APP_ID, proxyServer: server.wsUrl, instanceName: 'manual' });
  try {
    const rec = new Recorder(chat);
    await chat.login({ userID: 'man', userSig: genUserSig('man', SHORT) });
    await rec.next(EVENT.SDK_READY);
    const expiring = await rec.next(EVENT.USER_SIG_EXPIRING, 10000);
    const expireTime = chat.getSessionState().userSigExpireTime;
    expect(expiring.data).toEqual({ expireTime });
    expect(Date.now()).toBeLessThan(expireTime as number);
    const wrong = await rejection(chat.updateUserSig(genUserSig('someone', 3600)));
    expect(wrong.code).toBe(70013);
    expect(chat.isReady()).toBe(true);
    expect(await chat.updateUserSig(genUserSig('man', 3600))).toEqual({ code: 0, data: {} });
    await quietFor(SHORT * 1000);
    expect(rec.names()).not.toContain(EVENT.KICKED_OUT);
    expect(chat.getSessionState().ready).toBe(true);
  } finally {
    await chat.destroy();
  }
});

test('setNetworkReachable(false): disconnected at once (reason networkUnreachable), no attempts; true: back with reason networkBack', async () => {
  const chat = TencentCloudChat.create({ SDKAppID: SDK_APP_ID, proxyServer: server.wsUrl, instanceName: 'reach' });
  try {
    const rec = new Recorder(chat);
    await chat.login({ userID: 'reach', userSig: genUserSig('reach') });
    await rec.next(EVENT.SDK_READY);
    const connected = rec.events.filter((e) => e.name === EVENT.NET_STATE_CHANGE).pop();
    expect(connected?.data).toEqual({ state: TYPES.NET_STATE_CONNECTED, reason: 'loggedIn' });
    chat.setNetworkReachable(false);
    const down = await rec.next(EVENT.NET_STATE_CHANGE);
    expect(down.data).toEqual({ state: TYPES.NET_STATE_DISCONNECTED, reason: 'networkUnreachable' });
    expect(chat.getSessionState()).toMatchObject({ ready: true, netState: TYPES.NET_STATE_DISCONNECTED });
    expect(chat.getSessionState().nextRetryAt).toBeUndefined();
    await quietFor(1500);
    expect(rec.events.slice(-1)[0]).toBe(down);
    chat.setAppState('background');
    chat.setAppState('active'); // no network: no attempt either
    await quietFor(300);
    expect(rec.events.slice(-1)[0]).toBe(down);
    chat.setNetworkReachable(true);
    expect((await rec.next(EVENT.NET_STATE_CHANGE)).data).toEqual({ state: TYPES.NET_STATE_CONNECTING, reason: 'networkBack' });
    expect((await rec.next(EVENT.NET_STATE_CHANGE)).data).toEqual({ state: TYPES.NET_STATE_CONNECTED, reason: 'loggedIn' });
    expect(rec.names().filter((n) => n === EVENT.SDK_READY)).toHaveLength(1);
    expect(chat.getSessionState()).toMatchObject({ ready: true, netState: TYPES.NET_STATE_CONNECTED, reconnectAttempt: 0 });
  } finally {
    await chat.destroy();
  }
});
