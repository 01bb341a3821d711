/**
 * Unit tests of the React Native path (backend.native.ts over the "Natter" TurboModule) with a
 * fake TurboModule: what differs from Node — string error codes from RN promise rejections,
 * events and promise settlements arriving in either order over the bridge, events raised before
 * the instance is known to JS, one subscription at load, a missing native module.
 */
import type { NatterCreateOptions, NatterEvent, NatterLoginResult, Spec } from '../src/NativeNatter';

type Deferred<T> = { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void };
function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((a, b) => {
    resolve = a;
    reject = b;
  });
  return { promise, resolve, reject };
}

/** An RN-style rejection: React Native gives `code` as a string. */
function rnError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code, nativeStackAndroid: [] });
}

class FakeTurboModule {
  subscriptions = 0;
  handler: ((e: NatterEvent) => void) | undefined;
  next = 0;
  logins: Array<{ id: string; d: Deferred<NatterLoginResult> }> = [];
  logouts: Array<{ id: string; d: Deferred<void> }> = [];
  destroys: Array<{ id: string; d: Deferred<void> }> = [];
  created: NatterCreateOptions[] = [];
  /** Events the fake raises synchronously inside createInstance (before JS knows the id). */
  eventsOnCreate: Array<Omit<NatterEvent, 'instanceId'>> = [];
  logLevel = -1;

  createInstance = (options: NatterCreateOptions): string => {
    if (options.serverUrl.startsWith('http')) throw rnError('9001', 'invalid argument: server URL must start with ws://');
    this.created.push(options);
    const id = `rn-${++this.next}`;
    for (const e of this.eventsOnCreate) this.emit({ instanceId: id, ...e });
    return id;
  };
  login = (id: string): Promise<NatterLoginResult> => {
    const d = deferred<NatterLoginResult>();
    this.logins.push({ id, d });
    return d.promise;
  };
  logout = (id: string): Promise<void> => {
    const d = deferred<void>();
    this.logouts.push({ id, d });
    return d.promise;
  };
  destroy = (id: string): Promise<void> => {
    const d = deferred<void>();
    this.destroys.push({ id, d });
    return d.promise;
  };
  isReady = (): boolean => true;
  getLoginUser = (): string => 'rn-user';
  getServerTime = (): number => 1234;
  setLogLevel = (level: number): void => {
    this.logLevel = level;
  };
  onNatterEvent = (handler: (e: NatterEvent) => void) => {
    this.subscriptions += 1;
    this.handler = handler;
    const subscription = { remove: () => void (this.handler = undefined) };
    return subscription as unknown as import('react-native').EventSubscription;
  };
  emit(e: NatterEvent): void {
    this.handler?.(e);
  }
}

function load(fake: FakeTurboModule | null) {
  let mod: typeof import('../src/index') | undefined;
  jest.isolateModules(() => {
    jest.doMock('react-native', () => ({ TurboModuleRegistry: { get: (name: string) => (name === 'Natter' ? fake : null) } }), {
      virtual: false,
    });
    // What Metro does: `./backend` resolves to backend.native.ts.
    jest.doMock('../src/backend', () => jest.requireActual('../src/backend.native'));
    mod = require('../src/index'); // eslint-disable-line @typescript-eslint/no-require-imports
  });
  return (mod as typeof import('../src/index')).default;
}

const tick = () => new Promise((r) => setTimeout(r, 0));

afterEach(() => {
  jest.dontMock('react-native');
  jest.dontMock('../src/backend');
});

test('the fake satisfies the codegen Spec type', () => {
  const fake: Omit<Spec, keyof import('react-native').TurboModule> = new FakeTurboModule();
  expect(fake).toBeDefined();
});

test('subscribes to onNatterEvent exactly once, at module load, before any create()', () => {
  const fake = new FakeTurboModule();
  const chat = load(fake);
  expect(fake.subscriptions).toBe(1);
  chat.create({ SDKAppID: 1, proxyServer: 'ws://h/ws' });
  chat.create({ SDKAppID: 2, proxyServer: 'ws://h/ws' });
  expect(fake.subscriptions).toBe(1);
  expect(fake.created[0]).toEqual({ sdkAppId: 1, serverUrl: 'ws://h/ws', platform: 'web' });
});

test('RN string error codes become numeric ChatError codes; unknown codes become 9003', async () => {
  const fake = new FakeTurboModule();
  const chat = load(fake).create({ SDKAppID: 1, proxyServer: 'ws://h/ws' });
  const p = chat.login({ userID: 'u', userSig: 's' });
  fake.logins[0]?.d.reject(rnError('70001', 'UserSig expired'));
  await expect(p).rejects.toMatchObject({ code: 70001, message: 'UserSig expired', data: {} });
  await expect(p).rejects.toBeInstanceOf(Error);
  const q = chat.logout();
  fake.logouts[0]?.d.reject(rnError('E_WEIRD', 'something'));
  await expect(q).rejects.toMatchObject({ code: 9003 });
});

test('createInstance errors (thrown synchronously by the module) make create() throw the coded error', () => {
  const fake = new FakeTurboModule();
  const m = load(fake);
  expect(() => m.create({ SDKAppID: 1, proxyServer: 'http://h' })).toThrow(expect.objectContaining({ code: 9001 }));
  // What a sync TurboModule method's exception looks like in JS: no code, "[code] text" message.
  fake.createInstance = () => {
    throw new Error('Exception in HostFunction: [9001] invalid argument: unknown platform "tablet"');
  };
  let thrown: { code?: number; message?: string } = {};
  try {
    m.create({ SDKAppID: 3, proxyServer: 'ws://h/ws' });
  } catch (e) {
    thrown = e as typeof thrown;
  }
  expect(thrown).toMatchObject({ code: 9001, message: 'invalid argument: unknown platform "tablet"' });
});

test('SDK_READY emitted by native before the login promise settles is dispatched after it resolved', async () => {
  const fake = new FakeTurboModule();
  const chat = load(fake).create({ SDKAppID: 1, proxyServer: 'ws://h/ws' });
  const order: string[] = [];
  chat.on('sdkStateReady', () => order.push('ready'));
  chat.on('netStateChange', (e) => order.push(`net:${e.data.state}`));
  const p = chat.login({ userID: 'u', userSig: 's' }).then(() => order.push('resolved'));
  await tick();
  const id = fake.logins[0]?.id as string;
  fake.emit({ instanceId: id, name: 'netStateChange', data: { state: 'connected' } });
  fake.emit({ instanceId: id, name: 'sdkStateReady', data: {} });
  expect(order).toEqual(['net:connected']); // held
  fake.logins[0]?.d.resolve({ repeatLogin: false });
  await p;
  expect(order).toEqual(['net:connected', 'resolved']);
  await tick();
  expect(order).toEqual(['net:connected', 'resolved', 'ready']);
});

test('events queued behind a held SDK_READY keep their order, and a failed login releases them', async () => {
  const fake = new FakeTurboModule();
  const chat = load(fake).create({ SDKAppID: 1, proxyServer: 'ws://h/ws' });
  const seen: string[] = [];
  for (const n of ['sdkStateReady', 'kickedOut', 'sdkStateNotReady']) chat.on(n, (e: { name: string }) => seen.push(e.name));
  const p = chat.login({ userID: 'u', userSig: 's' });
  const id = fake.logins[0]?.id as string;
  fake.emit({ instanceId: id, name: 'sdkStateReady', data: {} });
  fake.emit({ instanceId: id, name: 'kickedOut', data: { type: 'multipleAccount' } });
  fake.emit({ instanceId: id, name: 'sdkStateNotReady', data: {} });
  expect(seen).toEqual([]);
  fake.logins[0]?.d.reject(rnError('2800', 'network'));
  await expect(p).rejects.toMatchObject({ code: 2800 });
  await tick();
  expect(seen).toEqual(['sdkStateReady', 'kickedOut', 'sdkStateNotReady']);
});

test('logout resolves only after its SDK_NOT_READY was dispatched, even if native resolves first', async () => {
  const fake = new FakeTurboModule();
  const chat = load(fake).create({ SDKAppID: 1, proxyServer: 'ws://h/ws' });
  const order: string[] = [];
  chat.on('sdkStateNotReady', () => order.push('notReady'));
  const p = chat.logout().then((r) => {
    order.push('resolved');
    return r;
  });
  fake.logouts[0]?.d.resolve();
  await tick();
  expect(order).toEqual([]);
  fake.emit({ instanceId: fake.logouts[0]?.id as string, name: 'sdkStateNotReady', data: {} });
  expect(await p).toEqual({ code: 0, data: {} });
  expect(order).toEqual(['notReady', 'resolved']);
});

test('destroy resolves after SDK_DESTROY, clears the cache; the same event is never delivered twice', async () => {
  const fake = new FakeTurboModule();
  const m = load(fake);
  const chat = m.create({ SDKAppID: 5, proxyServer: 'ws://h/ws' });
  const destroyed: unknown[] = [];
  chat.on('sdkDestroy', (e) => destroyed.push(e.data));
  const p = chat.destroy();
  const id = fake.destroys[0]?.id as string;
  fake.emit({ instanceId: id, name: 'sdkDestroy', data: { SDKAppID: 5 } });
  fake.destroys[0]?.d.resolve();
  expect(await p).toEqual({ code: 0, data: {} });
  expect(destroyed).toEqual([{ SDKAppID: 5 }]);
  expect(m.create({ SDKAppID: 5, proxyServer: 'ws://h/ws' })).not.toBe(chat);
  expect(await chat.destroy()).toEqual({ code: 0, data: {} });
  expect(fake.destroys).toHaveLength(1);
  await expect(chat.login({ userID: 'u', userSig: 's' })).rejects.toMatchObject({ code: 9002 });
});

test('events raised for an instance before JS knows its id reach handlers attached right after create(), in order, once', async () => {
  const fake = new FakeTurboModule();
  fake.eventsOnCreate = [
    { name: 'netStateChange', data: { state: 'connecting' } },
    { name: 'error', data: { code: 2800, message: 'x' } },
  ];
  const m = load(fake);
  // A late event for an id JS has not registered yet (emitted on another thread while
  // createInstance returns) waits in the module's buffer too.
  fake.emit({ instanceId: 'rn-1', name: 'netStateChange', data: { state: 'disconnected' } });
  const chat = m.create({ SDKAppID: 1, proxyServer: 'ws://h/ws' });
  const seen: string[] = [];
  chat.on('netStateChange', (e) => seen.push(`net:${e.data.state}`));
  chat.on('error', (e) => seen.push(`error:${e.data.code}`));
  fake.emit({ instanceId: 'rn-1', name: 'netStateChange', data: { state: 'connected' } }); // live, same tick
  fake.emit({ instanceId: 'rn-999', name: 'netStateChange', data: { state: 'connected' } }); // another instance
  expect(seen).toEqual([]); // dispatch starts on the next microtask
  await Promise.resolve();
  expect(seen).toEqual(['net:disconnected', 'net:connecting', 'error:2800', 'net:connected']);
  await tick();
  expect(seen).toHaveLength(4);
});

test('setLogLevel reaches the native module; invalid levels are ignored with an error log', () => {
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
