/**
 * e2e through the Node addon against a real natter-server: create() caching and instanceName,
 * logout/destroy and calls after destroy, on/off semantics, 50 instances in one process.
 */
import TencentCloudChat, { EVENT } from '../src/index';
import type { ChatInstance } from '../src/chat';
import { nativeInstanceCount } from '../src/backend';
import { genUserSig, NatterServer, Recorder, rejection, settle, SDK_APP_ID } from './helpers/server';

let server: NatterServer;
const created: ChatInstance[] = [];

function make(extra: Record<string, unknown> = {}): ChatInstance {
  const chat = TencentCloudChat.create({ SDKAppID: SDK_APP_ID, proxyServer: server.wsUrl, ...extra });
  created.push(chat);
  return chat;
}

beforeAll(async () => {
  server = await NatterServer.start({ args: ['--max-instances-per-platform', '100'] });
});
afterEach(async () => {
  await Promise.all(created.splice(0).map((c) => c.destroy()));
});
afterAll(async () => {
  await server.stop();
});

describe('create()', () => {
  test('returns the same instance for the same SDKAppID until destroyed, then a new one', async () => {
    const a = make();
    const b = TencentCloudChat.create({ SDKAppID: SDK_APP_ID, proxyServer: server.wsUrl });
    expect(b).toBe(a);
    expect(TencentCloudChat.create({ SDKAppID: String(SDK_APP_ID) })).toBe(a);
    const rec = new Recorder(a);
    await a.destroy();
    expect((await rec.next(EVENT.SDK_DESTROY)).data).toEqual({ SDKAppID: SDK_APP_ID });
    const c = make();
    expect(c).not.toBe(a);
  });

  test('instanceName gives an independent instance, cached under its own name', async () => {
    const a = make();
    const second = make({ instanceName: 'second' });
    expect(second).not.toBe(a);
    expect(TencentCloudChat.create({ SDKAppID: SDK_APP_ID, instanceName: 'second' })).toBe(second);
    await a.login({ userID: 'lc-a', userSig: genUserSig('lc-a') });
    await second.login({ userID: 'lc-b', userSig: genUserSig('lc-b') });
    expect(a.getLoginUser()).toBe('lc-a');
    expect(second.getLoginUser()).toBe('lc-b');
    await second.destroy();
    expect(a.isReady()).toBe(true);
  });

  test('an unparsable SDKAppID logs an error and returns null; bad options throw coded errors', () => {
    const spy = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    expect(TencentCloudChat.create({ SDKAppID: 'abc' })).toBeNull();
    expect(TencentCloudChat.create({ SDKAppID: -5 })).toBeNull();
    expect(spy).toHaveBeenCalled();
    spy.mockRestore();
    expect(() => TencentCloudChat.create({ SDKAppID: 7, proxyServer: 'http://nope' })).toThrow(
      expect.objectContaining({ code: 9001 }),
    );
    expect(() => TencentCloudChat.create({ SDKAppID: 8, proxyServer: server.wsUrl, platform: 'tablet' as never })).toThrow(
      expect.objectContaining({ code: 9001 }),
    );
    expect(() => TencentCloudChat.create({ SDKAppID: 9, proxyServer: server.wsUrl, heartbeatIntervalMs: 0 })).toThrow(
      expect.objectContaining({ code: 9001 }),
    );
  });

  test('a missing SDKAppID makes login reject 2000', async () => {
    const spy = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    const chat = TencentCloudChat.create({} as never);
    spy.mockRestore();
    const e = await rejection(chat.login({ userID: 'x', userSig: 'y' }));
    expect(e.code).toBe(2000);
    expect(e).toBeInstanceOf(Error);
  });
});

describe('logout and destroy', () => {
  test('logout emits SDK_NOT_READY, then resolves {code:0,data:{}}; login works again', async () => {
    const chat = make();
    const rec = new Recorder(chat);
    await chat.login({ userID: 'lo-1', userSig: genUserSig('lo-1') });
    await rec.next(EVENT.SDK_READY);
    const r = await chat.logout();
    expect(r).toEqual({ code: 0, data: {} });
    expect(rec.names()).toContain(EVENT.SDK_NOT_READY); // already dispatched when logout resolved
    expect(chat.isReady()).toBe(false);
    expect(chat.getLoginUser()).toBe('');
    const again = await chat.login({ userID: 'lo-1', userSig: genUserSig('lo-1') });
    expect(again).toEqual({ code: 0, data: { repeatLogin: false } });
    await rec.next(EVENT.SDK_READY);
  });

  test("logout leaves the user's other instances logged in", async () => {
    const a = make({ instanceName: 'lo-web' });
    const b = make({ instanceName: 'lo-android', platform: 'android' });
    const ra = new Recorder(a);
    const rb = new Recorder(b);
    await a.login({ userID: 'lo-2', userSig: genUserSig('lo-2') });
    await b.login({ userID: 'lo-2', userSig: genUserSig('lo-2') });
    await Promise.all([ra.next(EVENT.SDK_READY), rb.next(EVENT.SDK_READY)]);
    await a.logout();
    await settle();
    expect(b.isReady()).toBe(true);
    expect(rb.names()).not.toContain(EVENT.SDK_NOT_READY);
    const online = await server.rest('/v4/openim/query_online_status', { To_Account: ['lo-2'], IsNeedDetail: 1 });
    expect(JSON.stringify(online)).toContain('"Android"');
    expect(JSON.stringify(online)).not.toContain('"Web"');
  });

  test('logout while logged out rejects 2024 with an Error carrying code, message, data', async () => {
    const chat = make();
    const e = await rejection(chat.logout());
    expect(e).toBeInstanceOf(Error);
    expect(e.code).toBe(2024);
    expect(typeof e.message).toBe('string');
    expect(e.message.length).toBeGreaterThan(0);
    expect(e.data).toEqual({});
    expect(Object.keys(e)).toEqual(expect.arrayContaining(['code', 'data']));
  });

  test('destroy when logged in: SDK_NOT_READY then SDK_DESTROY {SDKAppID} last; resolves {code:0,data:{}}', async () => {
    const chat = make();
    const rec = new Recorder(chat);
    await chat.login({ userID: 'de-1', userSig: genUserSig('de-1') });
    await rec.next(EVENT.SDK_READY);
    expect(await chat.destroy()).toEqual({ code: 0, data: {} });
    const names = rec.names();
    expect(names[names.length - 1]).toBe(EVENT.SDK_DESTROY);
    expect(names).toContain(EVENT.SDK_NOT_READY);
    expect(names.indexOf(EVENT.SDK_NOT_READY)).toBeLessThan(names.indexOf(EVENT.SDK_DESTROY));
    expect(rec.events[names.length - 1]?.data).toEqual({ SDKAppID: SDK_APP_ID });
  });

  test('destroy when logged out resolves; a second destroy is harmless; later calls reject 9002', async () => {
    const chat = make();
    const rec = new Recorder(chat);
    expect(await chat.destroy()).toEqual({ code: 0, data: {} });
    expect(await chat.destroy()).toEqual({ code: 0, data: {} });
    await settle();
    expect(rec.names().filter((n) => n === EVENT.SDK_DESTROY)).toHaveLength(1);
    const login = await rejection(chat.login({ userID: 'z', userSig: genUserSig('z') }));
    expect(login.code).toBe(9002);
    expect(login).toBeInstanceOf(Error);
    expect((await rejection(chat.logout())).code).toBe(9002);
    expect(chat.isReady()).toBe(false);
    expect(chat.getLoginUser()).toBe('');
    expect(typeof chat.getServerTime()).toBe('number');
  });

  test('destroy releases the native instance', async () => {
    const before = nativeInstanceCount();
    const chat = make({ instanceName: 'leak-check' });
    expect(nativeInstanceCount()).toBe(before + 1);
    await chat.destroy();
    expect(nativeInstanceCount()).toBe(before);
  });
});

describe('on / off', () => {
  test('same handler twice is called twice; off removes every registration; context is honoured', async () => {
    const chat = make();
    const rec = new Recorder(chat);
    const calls: unknown[] = [];
    const ctx = { tag: 'ctx' };
    function handler(this: unknown, e: { name: string }) {
      calls.push([this, e.name]);
    }
    chat.on(EVENT.SDK_READY, handler, ctx);
    chat.on(EVENT.SDK_READY, handler, ctx);
    await chat.login({ userID: 'on-1', userSig: genUserSig('on-1') });
    await rec.next(EVENT.SDK_READY);
    expect(calls).toEqual([
      [ctx, EVENT.SDK_READY],
      [ctx, EVENT.SDK_READY],
    ]);
    chat.off(EVENT.SDK_READY, handler);
    await chat.logout();
    await chat.login({ userID: 'on-1', userSig: genUserSig('on-1') });
    await rec.next(EVENT.SDK_READY);
    expect(calls).toHaveLength(2);
  });

  test('a throwing handler is isolated: other handlers and the SDK keep working', async () => {
    const chat = make();
    const spy = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    chat.on(EVENT.SDK_READY, () => {
      throw new Error('boom');
    });
    const rec = new Recorder(chat);
    const r = await chat.login({ userID: 'th-1', userSig: genUserSig('th-1') });
    expect(r.code).toBe(0);
    const ready = await rec.next(EVENT.SDK_READY);
    expect(ready.data).toEqual({});
    expect(spy).toHaveBeenCalled();
    spy.mockRestore();
    await chat.logout();
    await rec.next(EVENT.SDK_NOT_READY);
  });

  test('bad event names and handlers throw synchronously', () => {
    const chat = make();
    expect(() => chat.on('', () => undefined)).toThrow();
    expect(() => chat.on(42 as never, () => undefined)).toThrow();
    expect(() => chat.on(EVENT.SDK_READY, 'nope' as never)).toThrow();
    expect(() => chat.on(EVENT.SDK_READY, undefined as never)).toThrow();
  });

  test('handlers get {name, data} and events attached right after create() are not lost', async () => {
    const chat = make({ instanceName: 'early' });
    const got: unknown[] = [];
    const p = chat.login({ userID: 'early-1', userSig: genUserSig('early-1') });
    chat.on(EVENT.NET_STATE_CHANGE, (e: unknown) => got.push(e)); // attached after login() started
    const rec = new Recorder(chat);
    await p;
    await rec.next(EVENT.SDK_READY);
    expect(got).toEqual([
      { name: EVENT.NET_STATE_CHANGE, data: { state: 'connecting' } },
      { name: EVENT.NET_STATE_CHANGE, data: { state: 'connected' } },
    ]);
  });
});

test('setLogLevel accepts 0..4 (process-wide) and ignores other values with an error log', () => {
  const chat = make({ instanceName: 'logs' });
  for (const level of [4, 3, 2, 1, 0, 2]) expect(() => chat.setLogLevel(level)).not.toThrow();
  const spy = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  chat.setLogLevel(7);
  chat.setLogLevel(1.5);
  expect(spy).toHaveBeenCalledTimes(2);
  spy.mockRestore();
  const quiet = make({ instanceName: 'quiet', logLevel: 4 });
  expect(quiet).toBeDefined();
  chat.setLogLevel(2);
});

test('50 instances in one process log in, each gets SDK_READY once, and all destroy cleanly', async () => {
  const before = nativeInstanceCount();
  const chats = Array.from({ length: 50 }, (_, i) => make({ instanceName: `fifty-${i}` }));
  const recs = chats.map((c) => new Recorder(c));
  const results = await Promise.all(
    chats.map((c, i) => c.login({ userID: `fifty-${i}`, userSig: genUserSig(`fifty-${i}`) })),
  );
  expect(results.every((r) => r.code === 0 && r.data.repeatLogin === false)).toBe(true);
  await Promise.all(recs.map((r) => r.next(EVENT.SDK_READY)));
  expect(chats.map((c, i) => c.getLoginUser() === `fifty-${i}` && c.isReady()).every(Boolean)).toBe(true);
  expect(nativeInstanceCount()).toBe(before + 50);
  await Promise.all(chats.map((c) => c.destroy()));
  for (const r of recs) {
    expect(r.names().filter((n) => n === EVENT.SDK_READY)).toHaveLength(1);
    expect(r.names()[r.names().length - 1]).toBe(EVENT.SDK_DESTROY);
  }
  expect(nativeInstanceCount()).toBe(before);
});
