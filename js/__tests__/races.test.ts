/**
 * The ordering contract end to end, through the Node addon against a real natter-server: calls
 * made in the same tick keep their order, and each promise settles after the events its
 * instance emitted before it (the order itself comes from Rust's natter::hub).
 */
import TencentCloudChat, { EVENT } from '../src/index';
import { nativeInstanceCount } from '../src/backend';
import type { ChatInstance } from '../src/chat';
import { genUserSig, NatterServer, Recorder, rejection } from './helpers/server';

let server: NatterServer;
let seq = 0;

function make(): ChatInstance {
  return TencentCloudChat.create({ SDKAppID: 1400000001, proxyServer: server.wsUrl, instanceName: `race-${seq++}` });
}

beforeAll(async () => {
  server = await NatterServer.start();
});
afterAll(async () => {
  await server.stop();
});

test('two logins in the same tick: the first wins, the second gets 2025 or repeatLogin', async () => {
  const chat = make();
  const first = chat.login({ userID: 'race-a', userSig: genUserSig('race-a') });
  const second = chat.login({ userID: 'race-b', userSig: genUserSig('race-b') });
  expect(await first).toEqual({ code: 0, data: { repeatLogin: false } });
  const outcome = await second.then(
    (r) => r,
    (e: { code: number }) => e.code,
  );
  expect(outcome === 2025 || (typeof outcome === 'object' && outcome.data.repeatLogin === true)).toBe(true);
  expect(chat.getLoginUser()).toBe('race-a');
  await chat.destroy();
});

test('login then logout in the same tick keep their order', async () => {
  const chat = make();
  const rec = new Recorder(chat);
  const login = chat.login({ userID: 'race-c', userSig: genUserSig('race-c') });
  const logout = chat.logout().then(
    () => 'ok',
    (e: { code: number }) => e.code,
  );
  expect(await login).toEqual({ code: 0, data: { repeatLogin: false } });
  const out = await logout;
  if (out === 'ok') {
    // It took effect after the login: SDK_READY, then SDK_NOT_READY, both before it resolved.
    expect(rec.names().filter((n) => n !== EVENT.NET_STATE_CHANGE)).toEqual([EVENT.SDK_READY, EVENT.SDK_NOT_READY]);
    expect(chat.isReady()).toBe(false);
  } else {
    expect(out).toBe(2024); // it reached the session while the login was in flight
    await rec.next(EVENT.SDK_READY);
    expect(chat.isReady()).toBe(true);
  }
  await chat.destroy();
});

test('destroy racing login: the login settles first, SDK_DESTROY is dispatched before destroy resolves', async () => {
  const before = nativeInstanceCount();
  const chat = make();
  const rec = new Recorder(chat);
  const order: string[] = [];
  const login = chat.login({ userID: 'race-d', userSig: genUserSig('race-d') }).then(
    () => order.push('login ok'),
    (e: { code: number }) => order.push(`login ${e.code}`),
  );
  const destroy = chat.destroy().then(() => order.push(`destroy ok after ${rec.names().at(-1)}`));
  await Promise.all([login, destroy]);
  expect(order).toHaveLength(2);
  expect(['login 9002', 'login ok']).toContain(order[0]);
  expect(order[1]).toBe(`destroy ok after ${EVENT.SDK_DESTROY}`);
  expect(chat.isReady()).toBe(false);
  expect(nativeInstanceCount()).toBe(before);
  expect((await rejection(chat.login({ userID: 'race-d', userSig: genUserSig('race-d') }))).code).toBe(9002);
});

test('settlements come after the events before them: login resolves, then SDK_READY; SDK_NOT_READY, then logout', async () => {
  const chat = make();
  const rec = new Recorder(chat);
  await chat.login({ userID: 'race-e', userSig: genUserSig('race-e') });
  // Right after the login promise resolved: the link events were dispatched, SDK_READY not yet.
  expect(rec.names()).toEqual([EVENT.NET_STATE_CHANGE, EVENT.NET_STATE_CHANGE]);
  await rec.next(EVENT.SDK_READY);
  await chat.logout();
  expect(rec.names().slice(3)).toEqual([EVENT.SDK_NOT_READY, EVENT.NET_STATE_CHANGE]);
  await chat.destroy();
  expect(rec.names().at(-1)).toBe(EVENT.SDK_DESTROY);
});
