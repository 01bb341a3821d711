/**
 * `react-native-natter/jest` used the way an RN app's Jest setup uses it: the app's code imports
 * 'react-native-natter' as usual, and `jest.mock` swaps in the in-memory implementation (no
 * native module, no addon, no server).
 */
import TencentCloudChat, { EVENT, TYPES, ERROR_CODE, type ChatError } from 'react-native-natter';
import * as natterModule from 'react-native-natter';

jest.mock('react-native-natter', () => jest.requireActual('react-native-natter/jest'));

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { natterMock } = require('react-native-natter/jest') as typeof import('../src/mock');

/** A stand-in for an app's session code: what the app would test. */
async function signIn(userID: string): Promise<{ events: string[]; chat: ReturnType<typeof TencentCloudChat.create> }> {
  const chat = TencentCloudChat.create({ SDKAppID: 1400000001 });
  const events: string[] = [];
  for (const name of [EVENT.SDK_READY, EVENT.SDK_NOT_READY, EVENT.KICKED_OUT, EVENT.NET_STATE_CHANGE, EVENT.SDK_DESTROY]) {
    chat.on(name, (e: { name: string; data: Record<string, unknown> }) =>
      events.push(e.data.type || e.data.state ? `${e.name}:${String(e.data.type ?? e.data.state)}` : e.name),
    );
  }
  await chat.login({ userID, userSig: 'any-sig' });
  return { events, chat };
}

const settled = () => new Promise((resolve) => setTimeout(resolve, 0));

afterEach(async () => {
  await TencentCloudChat.create({ SDKAppID: 1400000001 }).destroy();
});

test('login, events, logout, destroy run in memory with the real shapes and order', async () => {
  expect('natterMock' in natterModule).toBe(true); // the app's import got the mock
  const { chat, events } = await signIn('alice');
  await new Promise<void>((resolve) => chat.on(EVENT.SDK_READY, () => resolve()));
  expect(chat.isReady()).toBe(true);
  expect(chat.getLoginUser()).toBe('alice');
  expect(await chat.login({ userID: 'alice', userSig: 's' })).toMatchObject({ code: 0, data: { repeatLogin: true } });
  await chat.logout();
  expect(chat.isReady()).toBe(false);
  await chat.destroy();
  await settled();
  expect(events).toEqual(['netStateChange:connected', 'sdkStateReady', 'sdkStateNotReady', 'sdkDestroy']);
});

test('errors carry the real codes', async () => {
  const chat = TencentCloudChat.create({ SDKAppID: 1400000001 });
  await expect(chat.login({ userID: '', userSig: 's' })).rejects.toMatchObject({ code: ERROR_CODE.NO_IDENTIFIER });
  await expect(chat.login({ userID: 'bob', userSig: '' })).rejects.toMatchObject({ code: ERROR_CODE.NO_USERSIG });
  const e = (await chat.logout().catch((x: ChatError) => x)) as ChatError;
  expect(e.code).toBe(ERROR_CODE.USER_NOT_LOGGED_IN);
  await expect(TencentCloudChat.create({} as never).login({ userID: 'bob', userSig: 's' })).rejects.toMatchObject({
    code: ERROR_CODE.NO_SDKAPPID,
  });
});

test('natterMock.kickOut drives the app through KICKED_OUT', async () => {
  const { chat, events } = await signIn('carol');
  natterMock.kickOut('carol', TYPES.KICKED_OUT_MULT_DEVICE);
  await new Promise<void>((resolve) => chat.on(EVENT.SDK_NOT_READY, () => resolve()));
  expect(events).toEqual(['netStateChange:connected', 'sdkStateReady', 'kickedOut:multipleDevice', 'sdkStateNotReady']);
  expect(chat.isReady()).toBe(false);
});
