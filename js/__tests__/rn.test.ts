/**
 * Glue tests of the React Native path (backend.native.ts over the "Natter" TurboModule) with a
 * fake TurboModule that speaks the hub contract (NativeNatter.ts): what the TS layer itself
 * does — options passed through, promises settled by call id, events routed by instance id,
 * response shapes, the create() cache, the macrotask between a settlement and the next item,
 * a missing native module. The ordering itself is Rust's (tests/hub.rs) and is tested e2e in
 * races.test.ts.
 */
import type { NatterItem, Spec } from '../src/NativeNatter';

class FakeTurboModule {
  subscriptions = 0;
  handler: ((item: NatterItem) => void) | undefined;
  next = 0;
  calls: Array<{ callId: number; method: string; id: string; args: string[] }> = [];
  created: object[] = [];
  createResult: object | undefined;
  logLevel = -1;

  create = (options: object): object => {
    this.created.push(options);
    if (this.createResult) return this.createResult;
    return { instanceId: `rn-${this.created.length}` };
  };
  private call(method: string, id: string, args: string[] = []): number {
    const callId = ++this.next;
    this.calls.push({ callId, method, id, args });
    return callId;
  }
  login = (id: string, userId: string, userSig: string): number => this.call('login', id, [userId, userSig]);
  logout = (id: string): number => this.call('logout', id);
  destroy = (id: string): number => this.call('destroy', id);
  isReady = (): boolean => true;
  getLoginUser = (): string => 'rn-user';
  getServerTime = (): number => 1234;
  setLogLevel = (level: number): object => {
    if (level > 4) return { code: 9001, message: 'invalid argument: log level' };
    this.logLevel = level;
    return {};
  };
  updateUserSig = (id: string, userSig: string): number => this.call('updateUserSig', id, [userSig]);
  provided: Array<[number, boolean, string]> = [];
  provideUserSig = (requestId: number, ok: boolean, value: string): boolean => {
    this.provided.push([requestId, ok, value]);
    return true;
  };
  inputs: string[] = [];
  setAppState = (id: string, state: string): object => {
    if (state !== 'active' && state !== 'background') return { code: 9001, message: 'invalid argument: app state' };
    this.inputs.push(`${id} app ${state}`);
    return {};
  };
  setNetworkReachable = (id: string, reachable: boolean): object => {
    this.inputs.push(`${id} net ${reachable}`);
    return {};
  };
  sessionState = '{"ready":true,"loginUser":"rn-user","netState":"connected","reconnectAttempt":0,"userSigExpireTime":99}';
  getSessionState = (): string => this.sessionState;
  onNatterItem = (handler: (item: NatterItem) => void) => {
    this.subscriptions += 1;
    this.handler = handler;
    const subscription = { remove: () => void (this.handler = undefined) };
    return subscription as unknown as import('react-native').EventSubscription;
  };
  emit(item: NatterItem): void {
    this.handler?.(item);
  }
  event(instanceId: string, name: string, data: object = {}): void {
    this.emit({ kind: 'event', instanceId, name, data: JSON.stringify(data) });
  }
  ok(callId: number, data: object = {}): void {
    this.emit({ kind: 'settled', callId, ok: true, data: JSON.stringify(data) });
  }
  err(callId: number, code: number, message: string): void {
    this.emit({ kind: 'settled', callId, ok: false, code, message });
  }
}

/** React Native's AppState and NetInfo, driven by the test. */
class FakePlatform {
  appListeners: Array<(s: string) => void> = [];
  netListeners: Array<(s: { isConnected: boolean | null; isInternetReachable?: boolean | null }) => void> = [];
  removed = 0;
  AppState = {
    addEventListener: (_type: string, l: (s: string) => void) => {
      this.appListeners.push(l);
      return { remove: () => void (this.removed += 1) };
    },
  };
  netInfo = {
    addEventListener: (l: (s: { isConnected: boolean | null; isInternetReachable?: boolean | null }) => void) => {
      this.netListeners.push(l);
      return () => void (this.removed += 1);
    },
  };
  app(s: string): void {
    for (const l of this.appListeners) l(s);
  }
  net(isConnected: boolean | null, isInternetReachable?: boolean | null): void {
    for (const l of this.netListeners) l({ isConnected, isInternetReachable });
  }
}

function load(fake: FakeTurboModule | null, platform?: FakePlatform) {
  let mod: typeof import('../src/index') | undefined;
  jest.isolateModules(() => {
    jest.doMock(
      'react-native',
      () => ({
        TurboModuleRegistry: { get: (name: string) => (name === 'Natter' ? fake : null) },
        AppState: platform?.AppState,
      }),
      { virtual: false },
    );
    // What Metro does: `./backend` resolves to backend.native.ts (and `./lifecycle` to lifecycle.native.ts).
    jest.doMock('../src/backend', () => jest.requireActual('../src/backend.native'));
    if (platform) {
      jest.doMock('../src/lifecycle', () => jest.requireActual('../src/lifecycle.native'));
      jest.doMock('@react-native-community/netinfo', () => ({ default: platform.netInfo }), { virtual: true });
    }
    mod = require('../src/index'); // eslint-disable-line @typescript-eslint/no-require-imports
  });
  return (mod as typeof import('../src/index')).default;
}

const tick = () => new Promise((r) => setTimeout(r, 0));

afterEach(() => {
  jest.dontMock('react-native');
  jest.dontMock('../src/backend');
  jest.dontMock('../src/lifecycle');
});

test('the fake satisfies the codegen Spec type', () => {
  const fake: Omit<Spec, keyof import('react-native').TurboModule> = new FakeTurboModule();
  expect(fake).toBeDefined();
});

test('subscribes to onNatterItem exactly once, at module load; create() passes the JS options through', () => {
  const fake = new FakeTurboModule();
  const chat = load(fake);
  expect(fake.subscriptions).toBe(1);
  chat.create({ SDKAppID: 1, proxyServer: 'ws://h/ws' });
  chat.create({ SDKAppID: '2', proxyServer: 'ws://h/ws', platform: 'ios', heartbeatIntervalMs: 0.5, scene: 'x' } as never);
  expect(fake.subscriptions).toBe(1);
  expect(fake.created).toEqual([
    { SDKAppID: 1, proxyServer: 'ws://h/ws', platform: 'web' },
    // Values are Rust's to judge (0.5 is refused there); the decimal string becomes a number.
    { SDKAppID: 2, proxyServer: 'ws://h/ws', platform: 'ios', heartbeatIntervalMs: 0.5 },
  ]);
});

test('create() results: {code} throws the coded error; 2000 with an SDKAppID returns null; without one, login rejects 2000', async () => {
  const fake = new FakeTurboModule();
  const m = load(fake);
  fake.createResult = { code: 9001, message: 'invalid argument: platform' };
  expect(() => m.create({ SDKAppID: 1, proxyServer: 'ws://h/ws' })).toThrow(expect.objectContaining({ code: 9001 }));
  fake.createResult = { code: 2000, message: 'invalid SDKAppID: SDKAppID must be a positive integer, got -5' };
  const spy = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  expect(m.create({ SDKAppID: -5 })).toBeNull();
  const missing = m.create({} as never);
  spy.mockRestore();
  await expect(missing.login({ userID: 'u', userSig: 's' })).rejects.toMatchObject({ code: 2000 });
  expect(() => m.create({ SDKAppID: 1, heartbeatIntervalMs: '10' } as never)).toThrow(expect.objectContaining({ code: 9001 }));
});

test('calls settle by call id with the reference shapes; errors carry numeric codes', async () => {
  const fake = new FakeTurboModule();
  const chat = load(fake).create({ SDKAppID: 1, proxyServer: 'ws://h/ws' });
  const first = chat.login({ userID: 'u', userSig: 's' });
  const second = chat.login({ userID: 'u', userSig: 's' });
  const [a, b] = fake.calls;
  expect([a?.method, a?.id, a?.args]).toEqual(['login', 'rn-1', ['u', 's']]);
  fake.err(b?.callId as number, 2025, 'another login is still in progress');
  fake.ok(a?.callId as number, { repeatLogin: false });
  await expect(second).rejects.toMatchObject({ code: 2025, message: 'another login is still in progress', data: {} });
  await expect(second).rejects.toBeInstanceOf(Error);
  expect(await first).toEqual({ code: 0, data: { repeatLogin: false } });
  const again = chat.login({ userID: 'v', userSig: 's' });
  fake.ok(fake.calls[2]?.callId as number, { repeatLogin: true, errorInfo: 'user "u" is already logged in' });
  expect(await again).toEqual({ code: 0, data: { repeatLogin: true, errorInfo: 'user "u" is already logged in' } });
  const out = chat.logout();
  fake.ok(fake.calls[3]?.callId as number);
  expect(await out).toEqual({ code: 0, data: {} });
  await expect(chat.login({ userID: 1, userSig: 's' } as never)).rejects.toMatchObject({ code: 2002 });
});

test('a settlement and the next event in one burst: code after `await login()` runs before the SDK_READY handler', async () => {
  const fake = new FakeTurboModule();
  const chat = load(fake).create({ SDKAppID: 1, proxyServer: 'ws://h/ws' });
  const order: string[] = [];
  chat.on('sdkStateReady', () => order.push('ready'));
  const done = (async () => {
    await chat.login({ userID: 'u', userSig: 's' });
    order.push('after await');
  })();
  fake.event('rn-1', 'netStateChange', { state: 'connected' });
  fake.ok(fake.calls[0]?.callId as number, { repeatLogin: false });
  fake.event('rn-1', 'sdkStateReady');
  await done;
  await tick();
  expect(order).toEqual(['after await', 'ready']);
});

test('events are routed by instance id; an unknown id is ignored', async () => {
  const fake = new FakeTurboModule();
  const m = load(fake);
  const one = m.create({ SDKAppID: 1, proxyServer: 'ws://h/ws' });
  const two = m.create({ SDKAppID: 1, proxyServer: 'ws://h/ws', instanceName: 'two' });
  const seen: string[] = [];
  one.on('kickedOut', (e) => seen.push(`one:${e.data.type}`));
  two.on('kickedOut', (e) => seen.push(`two:${e.data.type}`));
  fake.event('rn-2', 'kickedOut', { type: 'multipleAccount' });
  fake.event('rn-9', 'kickedOut', { type: 'multipleDevice' });
  fake.event('rn-1', 'kickedOut', { type: 'REST_API_Kick' });
  expect(seen).toEqual(['two:multipleAccount', 'one:REST_API_Kick']);
});

test('destroy resolves on its settlement; SDK_DESTROY clears the cache entry', async () => {
  const fake = new FakeTurboModule();
  const m = load(fake);
  const chat = m.create({ SDKAppID: 5, proxyServer: 'ws://h/ws' });
  expect(m.create({ SDKAppID: 5, proxyServer: 'ws://h/ws' })).toBe(chat);
  const destroyed: unknown[] = [];
  chat.on('sdkDestroy', (e) => destroyed.push(e.data));
  const p = chat.destroy();
  fake.event('rn-1', 'sdkDestroy', { SDKAppID: 5 });
  expect(destroyed).toEqual([{ SDKAppID: 5 }]);
  expect(m.create({ SDKAppID: 5, proxyServer: 'ws://h/ws' })).not.toBe(chat);
  fake.ok(fake.calls[0]?.callId as number);
  expect(await p).toEqual({ code: 0, data: {} });
});

test('setLogLevel reaches the native module; a refused level is logged, not thrown', () => {
  const fake = new FakeTurboModule();
  const chat = load(fake).create({ SDKAppID: 1, proxyServer: 'ws://h/ws' });
  chat.setLogLevel(3);
  expect(fake.logLevel).toBe(3);
  const spy = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  chat.setLogLevel(9);
  expect(fake.logLevel).toBe(3);
  expect(spy).toHaveBeenCalled();
  spy.mockRestore();
  expect(chat.getServerTime()).toBe(1234);
  expect(chat.getLoginUser()).toBe('rn-user');
});

test('without the native module, import works and create() throws a coded, explanatory error', () => {
  const m = load(null);
  expect(() => m.create({ SDKAppID: 1 })).toThrow(expect.objectContaining({ code: 9003 }));
  expect(() => m.create({ SDKAppID: 1 })).toThrow(/not linked/);
});

test('updateUserSig settles by call id; the new synchronous calls pass through and throw coded errors', async () => {
  const fake = new FakeTurboModule();
  const chat = load(fake).create({ SDKAppID: 1, proxyServer: 'ws://h/ws', probeTimeoutMs: 700 });
  expect(fake.created[0]).toEqual({ SDKAppID: 1, proxyServer: 'ws://h/ws', platform: 'web', probeTimeoutMs: 700 });
  const renewed = chat.updateUserSig('sig-2');
  const refused = chat.updateUserSig('bob-sig');
  const [a, b] = fake.calls;
  expect([a?.method, a?.args]).toEqual(['updateUserSig', ['sig-2']]);
  fake.ok(a?.callId as number);
  fake.err(b?.callId as number, 70013, 'UserSig was issued for another userID');
  expect(await renewed).toEqual({ code: 0, data: {} });
  await expect(refused).rejects.toMatchObject({ code: 70013 });
  chat.setAppState('background');
  chat.setNetworkReachable(false);
  expect(fake.inputs).toEqual(['rn-1 app background', 'rn-1 net false']);
  expect(() => chat.setAppState('asleep' as never)).toThrow(expect.objectContaining({ code: 9001 }));
  expect(() => chat.setNetworkReachable('no' as never)).toThrow(expect.objectContaining({ code: 9001 }));
  expect(chat.getSessionState()).toEqual({
    ready: true,
    loginUser: 'rn-user',
    netState: 'connected',
    reconnectAttempt: 0,
    userSigExpireTime: 99,
  });
  expect(() => load(fake).create({ SDKAppID: 1, userSigProvider: 'sig' } as never)).toThrow(
    expect.objectContaining({ code: 9001 }),
  );
});

test('userSigNeeded runs the provider and answers the request; app handlers never see it', async () => {
  const fake = new FakeTurboModule();
  const m = load(fake);
  let fail = false;
  const chat = m.create({
    SDKAppID: 1,
    proxyServer: 'ws://h/ws',
    userSigProvider: () => (fail ? Promise.reject(new Error('backend down')) : Promise.resolve('fresh-sig')),
  });
  expect(fake.created[0]).toMatchObject({ userSigProvider: true });
  const seen: string[] = [];
  chat.on('userSigNeeded' as never, () => seen.push('leaked'));
  chat.on(m.EVENT.USER_SIG_EXPIRING, (e) => seen.push(`expiring ${e.data.expireTime}`));
  fake.event('rn-1', 'userSigNeeded', { requestId: 7 });
  await tick();
  fail = true;
  fake.event('rn-1', 'userSigNeeded', { requestId: 8 });
  await tick();
  expect(fake.provided).toEqual([
    [7, true, 'fresh-sig'],
    [8, false, 'backend down'],
  ]);
  fake.event('rn-1', 'userSigExpiring', { expireTime: 1234 });
  await tick();
  expect(seen).toEqual(['expiring 1234']);
});

test('React Native: AppState and NetInfo feed every instance that keeps autoLifecycle', async () => {
  const fake = new FakeTurboModule();
  const platform = new FakePlatform();
  const m = load(fake, platform);
  m.create({ SDKAppID: 1, proxyServer: 'ws://h/ws' });
  m.create({ SDKAppID: 1, proxyServer: 'ws://h/ws', instanceName: 'manual', autoLifecycle: false });
  m.create({ SDKAppID: 2, proxyServer: 'ws://h/ws' });
  // One subscription for the module, not one per instance.
  expect([platform.appListeners.length, platform.netListeners.length]).toEqual([1, 1]);
  platform.app('background');
  platform.app('inactive'); // iOS's transient state is not an input
  platform.app('active');
  platform.net(true, true);
  platform.net(false, null);
  platform.net(false, false); // no change: not forwarded twice
  platform.net(true, null); // unknown internet reachability counts as reachable
  expect(fake.inputs).toEqual([
    'rn-1 app background',
    'rn-3 app background',
    'rn-1 app active',
    'rn-3 app active',
    'rn-1 net true',
    'rn-3 net true',
    'rn-1 net false',
    'rn-3 net false',
    'rn-1 net true',
    'rn-3 net true',
  ]);
});
