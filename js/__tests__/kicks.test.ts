/**
 * e2e through the Node addon against real natter-servers: each kick type arrives as KICKED_OUT
 * with the exact data.type, then SDK_NOT_READY; no automatic re-login; login works again.
 */
import TencentCloudChat, { EVENT, TYPES } from '../src/index';
import type { ChatInstance } from '../src/chat';
import type { Platform } from '../src/types';
import { genUserSig, NatterServer, Recorder, settle, SDK_APP_ID } from './helpers/server';

let server: NatterServer;
const created: ChatInstance[] = [];
let seq = 0;

function make(platform: Platform = 'web', srv: NatterServer = server): { chat: ChatInstance; rec: Recorder } {
  const chat = TencentCloudChat.create({
    SDKAppID: SDK_APP_ID,
    proxyServer: srv.wsUrl,
    instanceName: `kick-${seq++}`,
    platform,
  });
  created.push(chat);
  return { chat, rec: new Recorder(chat) };
}

async function loginReady(x: { chat: ChatInstance; rec: Recorder }, userID: string, sig = genUserSig(userID)) {
  const r = await x.chat.login({ userID, userSig: sig });
  expect(r.data.repeatLogin).toBe(false);
  await x.rec.next(EVENT.SDK_READY);
}

/** KICKED_OUT {type} then SDK_NOT_READY, state cleared. */
async function expectKicked(x: { chat: ChatInstance; rec: Recorder }, type: string, timeoutMs = 10000) {
  const kicked = await x.rec.next(EVENT.KICKED_OUT, timeoutMs);
  expect(kicked.data).toEqual({ type });
  const kickIndex = x.rec.events.indexOf(kicked);
  await x.rec.next(EVENT.SDK_NOT_READY);
  const afterKick = x.rec.names().slice(kickIndex + 1).filter((n) => n !== EVENT.NET_STATE_CHANGE);
  expect(afterKick[0]).toBe(EVENT.SDK_NOT_READY);
  expect(x.chat.isReady()).toBe(false);
  expect(x.chat.getLoginUser()).toBe('');
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

test('a second web instance of the same user kicks the first with multipleAccount; no re-login; login again works', async () => {
  const a = make('web');
  const b = make('web');
  await loginReady(a, 'ka');
  await loginReady(b, 'ka');
  await expectKicked(a, TYPES.KICKED_OUT_MULT_ACCOUNT);
  expect(b.chat.isReady()).toBe(true);
  expect(b.rec.names()).not.toContain(EVENT.KICKED_OUT);
  await settle();
  expect(a.chat.isReady()).toBe(false); // no automatic re-login (no kick ping-pong)
  expect(a.rec.names().filter((n) => n === EVENT.SDK_READY)).toHaveLength(1);
  await loginReady(a, 'ka'); // the app logs in again: works, and now b is the oldest
  await expectKicked(b, TYPES.KICKED_OUT_MULT_ACCOUNT);
});

test('a second android instance of the same user kicks the first with multipleDevice; other platforms are untouched', async () => {
  const web = make('web');
  const a1 = make('android');
  const a2 = make('android');
  await loginReady(web, 'kd');
  await loginReady(a1, 'kd');
  await loginReady(a2, 'kd');
  await expectKicked(a1, TYPES.KICKED_OUT_MULT_DEVICE);
  expect(web.chat.isReady()).toBe(true);
  expect(a2.chat.isReady()).toBe(true);
});

test('policy single: a login on another platform kicks with multipleDevice', async () => {
  const single = await NatterServer.start({ args: ['--policy', 'single'] });
  try {
    const web = make('web', single);
    const ios = make('ios', single);
    await loginReady(web, 'ks');
    await loginReady(ios, 'ks');
    await expectKicked(web, TYPES.KICKED_OUT_MULT_DEVICE);
    expect(ios.chat.isReady()).toBe(true);
  } finally {
    await Promise.all(created.splice(0).map((c) => c.destroy()));
    await single.stop();
  }
});

test('a session whose UserSig expires is kicked with userSigExpired', async () => {
  const x = make('web');
  const now = Math.floor(Date.now() / 1000);
  await loginReady(x, 'ke', genUserSig('ke', 2, { now }));
  await expectKicked(x, TYPES.KICKED_OUT_USERSIG_EXPIRED, 10000);
  await loginReady(x, 'ke'); // with a fresh UserSig
});

test('the admin REST kick kicks every instance of the user with REST_API_Kick', async () => {
  const web = make('web');
  const android = make('android');
  const bystander = make('web');
  await loginReady(web, 'kr');
  await loginReady(android, 'kr');
  await loginReady(bystander, 'kr-other');
  const res = await server.kick('kr');
  expect(res.ActionStatus).toBe('OK');
  expect(res.ErrorCode).toBe(0);
  await expectKicked(web, TYPES.KICKED_OUT_REST_API);
  await expectKicked(android, TYPES.KICKED_OUT_REST_API);
  expect(bystander.chat.isReady()).toBe(true);
  await loginReady(web, 'kr');
});

test('the admin REST API refuses a bad admin UserSig with a coded error', async () => {
  const q = new URLSearchParams({
    sdkappid: String(SDK_APP_ID),
    identifier: 'administrator',
    usersig: 'bad',
    random: '1',
    contenttype: 'json',
  });
  const res = await fetch(`${server.restBase}/v4/im_open_login_svc/kick?${q}`, {
    method: 'POST',
    body: JSON.stringify({ UserID: 'x' }),
  });
  const body = (await res.json()) as { ActionStatus: string; ErrorCode: number };
  expect(body.ActionStatus).toBe('FAIL');
  expect(body.ErrorCode).not.toBe(0);
});
