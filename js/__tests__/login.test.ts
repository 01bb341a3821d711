/**
 * e2e through the Node addon against a real natter-server: login results, repeat and in-flight
 * logins, every documented error code, SDK_READY ordering, getters, server time offset.
 */
import { readFileSync } from 'fs';
import { resolve } from 'path';
import { inflateSync } from 'zlib';
import TencentCloudChat, { EVENT } from '../src/index';
import type { ChatInstance } from '../src/chat';
import { genUserSig, NatterServer, Recorder, rejection, settle, SDK_APP_ID, slowProxy } from './helpers/server';

let server: NatterServer;
const created: ChatInstance[] = [];
let seq = 0;

function make(extra: Record<string, unknown> = {}, srv: NatterServer = server): ChatInstance {
  const chat = TencentCloudChat.create({
    SDKAppID: SDK_APP_ID,
    proxyServer: srv.wsUrl,
    instanceName: `login-${seq++}`,
    ...extra,
  });
  created.push(chat);
  return chat;
}

beforeAll(async () => {
  server = await NatterServer.start();
});
afterEach(async () => {
  await Promise.all(created.splice(0).map((c) => c.destroy()));
});
afterAll(async () => {
  await server.stop();
});

describe('login', () => {
  test('resolves {code:0, data:{repeatLogin:false}}; SDK_READY is dispatched after the promise resolved, once', async () => {
    const chat = make();
    let resolved = false;
    let readySeenAfterResolve: boolean | undefined;
    chat.on(EVENT.SDK_READY, () => {
      readySeenAfterResolve = resolved;
    });
    const rec = new Recorder(chat);
    const r = await chat.login({ userID: 'alice', userSig: genUserSig('alice') });
    resolved = true;
    expect(r).toEqual({ code: 0, data: { repeatLogin: false } });
    expect(chat.isReady()).toBe(true);
    expect(chat.getLoginUser()).toBe('alice');
    await rec.next(EVENT.SDK_READY);
    expect(readySeenAfterResolve).toBe(true);
    await settle();
    expect(rec.names().filter((n) => n === EVENT.SDK_READY)).toHaveLength(1);
  });

  test('SDK_READY after resolution also for .then() chains (next tick)', async () => {
    const chat = make();
    const order: string[] = [];
    chat.on(EVENT.SDK_READY, () => order.push('ready'));
    const rec = new Recorder(chat);
    await chat.login({ userID: 'then-1', userSig: genUserSig('then-1') }).then(() => order.push('resolved'));
    await rec.next(EVENT.SDK_READY);
    expect(order).toEqual(['resolved', 'ready']);
  });

  test('repeat login (same or another user) resolves repeatLogin:true with errorInfo, changes nothing, no new SDK_READY', async () => {
    const chat = make();
    const rec = new Recorder(chat);
    await chat.login({ userID: 'bob', userSig: genUserSig('bob') });
    await rec.next(EVENT.SDK_READY);
    const same = await chat.login({ userID: 'bob', userSig: genUserSig('bob') });
    expect(same.code).toBe(0);
    expect(same.data.repeatLogin).toBe(true);
    expect(same.data.errorInfo).toContain('bob');
    const other = await chat.login({ userID: 'carol', userSig: genUserSig('carol') });
    expect(other.data.repeatLogin).toBe(true);
    expect(chat.getLoginUser()).toBe('bob');
    await settle();
    expect(rec.names().filter((n) => n === EVENT.SDK_READY)).toHaveLength(1);
  });

  test('a second login while one is in flight rejects 2025; the first succeeds', async () => {
    const proxy = await slowProxy(server.port, 300); // keeps the first login in flight
    try {
      const chat = make({ proxyServer: proxy.url });
      const sig = genUserSig('dave');
      const first = chat.login({ userID: 'dave', userSig: sig });
      const second = await rejection(chat.login({ userID: 'dave', userSig: sig }));
      expect(second.code).toBe(2025);
      expect((await first).data.repeatLogin).toBe(false);
      expect(chat.getLoginUser()).toBe('dave');
    } finally {
      await Promise.all(created.splice(0).map((c) => c.destroy()));
      await proxy.close();
    }
  });

  test('missing userID / userSig reject 2002 / 2003 (not a synchronous throw)', async () => {
    const chat = make();
    expect((await rejection(chat.login({ userID: '', userSig: 'x' }))).code).toBe(2002);
    expect((await rejection(chat.login({ userSig: 'x' } as never))).code).toBe(2002);
    expect((await rejection(chat.login({ userID: 'x', userSig: '' }))).code).toBe(2003);
    expect((await rejection(chat.login({ userID: 'x' } as never))).code).toBe(2003);
    expect((await rejection(chat.login(undefined as never))).code).toBe(2002);
  });

  test('server refusals reject with the server code: 70001 expired, 70003 malformed, 70013 user mismatch, 70014 app mismatch, 70009 wrong key', async () => {
    const chat = make();
    const cases: Array<[string, string, number]> = [
      ['eve', genUserSig('eve', 60, { now: Math.floor(Date.now() / 1000) - 3600 }), 70001],
      ['eve', 'not-a-user-sig', 70003],
      ['eve', genUserSig('mallory'), 70013],
      ['eve', genUserSig('eve', 86400, { sdkAppId: 1400000002 }), 70014],
      ['eve', genUserSig('eve', 86400, { key: 'some-other-secret' }), 70009],
    ];
    for (const [userID, userSig, code] of cases) {
      const e = await rejection(chat.login({ userID, userSig }));
      expect({ code: e.code, isError: e instanceof Error, hasMessage: e.message.length > 0 }).toEqual({
        code,
        isError: true,
        hasMessage: true,
      });
      expect(chat.isReady()).toBe(false);
    }
    const ok = await chat.login({ userID: 'eve', userSig: genUserSig('eve') });
    expect(ok.code).toBe(0);
  });

  test('repeated failures from one source are throttled with 70050', async () => {
    const strict = await NatterServer.start({ toml: 'max_failed_logins = 2\nfailed_login_window_secs = 60\n' });
    try {
      const chat = make({}, strict);
      const codes: number[] = [];
      for (let i = 0; i < 4; i++) {
        codes.push((await rejection(chat.login({ userID: 'fr', userSig: 'garbage' }))).code);
      }
      expect(codes.slice(0, 2)).toEqual([70003, 70003]);
      expect(codes[codes.length - 1]).toBe(70050);
    } finally {
      await Promise.all(created.splice(0).map((c) => c.destroy()));
      await strict.stop();
    }
  });

  test('no server listening rejects 2800 (network error)', async () => {
    const dead = await NatterServer.start();
    const url = dead.wsUrl;
    await dead.stop();
    const chat = make({ proxyServer: url, loginTimeoutMs: 5000 });
    const e = await rejection(chat.login({ userID: 'net', userSig: genUserSig('net') }));
    expect(e.code).toBe(2800);
    expect(chat.isReady()).toBe(false);
  });

  test('a server that never answers rejects 2801 (timeout) after loginTimeoutMs', async () => {
    // A TCP listener that accepts and stays silent: the WebSocket upgrade never completes.
    const net = await import('net');
    const sockets: import('net').Socket[] = [];
    const silent = net.createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as import('net').AddressInfo).port;
    try {
      const chat = make({ proxyServer: `ws://127.0.0.1:${port}/ws`, loginTimeoutMs: 800, requestTimeoutMs: 800 });
      const started = Date.now();
      const e = await rejection(chat.login({ userID: 'slow', userSig: genUserSig('slow') }));
      expect(e.code).toBe(2801);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });
});

describe('getters', () => {
  test('are synchronous and give the logged-out values before login', () => {
    const chat = make();
    expect(chat.isReady()).toBe(false);
    expect(chat.getLoginUser()).toBe('');
    const t = chat.getServerTime();
    expect(typeof t).toBe('number');
    expect(Math.abs(t - Date.now())).toBeLessThan(1000);
  });

  test("getServerTime follows the server's clock (server skewed +1 h and -2 h)", async () => {
    for (const skew of [3_600_000, -7_200_000]) {
      const skewed = await NatterServer.start({ args: ['--clock-skew-ms', String(skew)] });
      try {
        const chat = make({}, skewed);
        await chat.login({ userID: 'clock', userSig: genUserSig('clock', 86400, { now: Math.floor(Date.now() / 1000) - 7300 }) });
        const offset = chat.getServerTime() - Date.now();
        expect(Math.abs(offset - skew)).toBeLessThan(250);
        await chat.destroy();
      } finally {
        await skewed.stop();
      }
    }
  });
});

// The official generator's vectors, vendored in the repository (as for server/tests/usersig_vectors.rs).
const VECTORS = resolve(__dirname, '..', '..', 'tests', 'vectors', 'usersig-vectors.json');
test('the UserSig helper matches the official generator vectors (session.md §5)', () => {
  const list = JSON.parse(readFileSync(VECTORS, 'utf8')) as Array<Record<string, unknown>>;
  expect(list.length).toBeGreaterThan(0);
  const decode = (s: string) =>
    JSON.parse(inflateSync(Buffer.from(s.replace(/\*/g, '+').replace(/-/g, '/').replace(/_/g, '='), 'base64')).toString());
  for (const v of list) {
    const ours = genUserSig(String(v.userID), Number(v.expireSeconds), {
      sdkAppId: Number(v.sdkAppID),
      key: String(v.secretKey),
      now: Number(v.issuedAtUnix),
    });
    expect(decode(ours)).toEqual(decode(String(v.userSig)));
  }
});
