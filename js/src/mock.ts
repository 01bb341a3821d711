/**
 * `react-native-natter/jest`: the public API over a small in-memory backend, for an app's Jest
 * tests (no native module, no server, no TypeScript sources to transform):
 *
 *   jest.mock('react-native-natter', () => require('react-native-natter/jest'));
 *
 * It is the real TS layer (`chat.ts`: promises, events, the create() cache) over a fake backend
 * that accepts every non-empty userID/userSig: login resolves `{repeatLogin:false}` and
 * `SDK_READY` follows; logout emits `SDK_NOT_READY`; destroy emits `SDK_DESTROY`; the error
 * codes are the real ones (2000 no SDKAppID, 2002/2003 empty userID/userSig, 2024 not logged in).
 * `natterMock.kickOut(userID)` simulates a kick. Instances live for the test file (Jest
 * isolates modules per file); `await chat.destroy()` in `afterEach` to start each test afresh.
 */
import { createChatModule } from './chat';
import { ERROR_CODE, EVENT, TYPES } from './constants';
import type { NatterBackend, NatterItem } from './backend-types';

interface MockInstance {
  sdkAppId: number;
  user: string;
  ready: boolean;
}

class MemoryBackend implements NatterBackend {
  private readonly instances = new Map<string, MockInstance>();
  private readonly handlers = new Set<(item: NatterItem) => void | Promise<void>>();
  private nextId = 1;

  /** Items are delivered after the call returns, like the native stream. */
  private emit(items: NatterItem[]): void {
    void Promise.resolve().then(() => {
      for (const item of items) for (const h of this.handlers) void h(item);
    });
  }

  /** Emits `before`, then the settlement of `callId`, then `after`; returns `callId`. */
  private settle(callId: number, outcome: object | [number, string], before: NatterItem[] = [], after: NatterItem[] = []): number {
    const settled: NatterItem = Array.isArray(outcome)
      ? { kind: 'settled', callId, ok: false, code: outcome[0], message: outcome[1] }
      : { kind: 'settled', callId, ok: true, data: JSON.stringify(outcome) };
    this.emit([...before, settled, ...after]);
    return callId;
  }

  private event(instanceId: string, name: string, data: object = {}): NatterItem {
    return { kind: 'event', instanceId, name, data: JSON.stringify(data) };
  }

  create = (options: object): object => {
    const sdkAppId = (options as { SDKAppID?: unknown }).SDKAppID;
    if (typeof sdkAppId !== 'number' || !(sdkAppId > 0)) return { code: ERROR_CODE.NO_SDKAPPID, message: 'SDKAppID is required' };
    const instanceId = `mock-${this.nextId++}`;
    this.instances.set(instanceId, { sdkAppId, user: '', ready: false });
    return { instanceId };
  };

  login = (id: string, userId: string, userSig: string): number => {
    const callId = this.nextId++;
    const inst = this.instances.get(id);
    if (!inst) return this.settle(callId, [ERROR_CODE.INSTANCE_DESTROYED, 'the instance was destroyed']);
    if (!userId) return this.settle(callId, [ERROR_CODE.NO_IDENTIFIER, 'userID is required']);
    if (!userSig) return this.settle(callId, [ERROR_CODE.NO_USERSIG, 'userSig is required']);
    if (inst.ready) return this.settle(callId, { repeatLogin: true, errorInfo: `${inst.user} is already logged in` });
    inst.user = userId;
    inst.ready = true;
    const connected = this.event(id, EVENT.NET_STATE_CHANGE, { state: TYPES.NET_STATE_CONNECTED });
    return this.settle(callId, { repeatLogin: false }, [connected], [this.event(id, EVENT.SDK_READY)]);
  };

  logout = (id: string): number => {
    const callId = this.nextId++;
    const inst = this.instances.get(id);
    if (!inst || !inst.ready) return this.settle(callId, [ERROR_CODE.USER_NOT_LOGGED_IN, 'not logged in']);
    inst.ready = false;
    inst.user = '';
    return this.settle(callId, {}, [this.event(id, EVENT.SDK_NOT_READY)]);
  };

  destroy = (id: string): number => {
    const callId = this.nextId++;
    const inst = this.instances.get(id);
    this.instances.delete(id);
    if (!inst) return this.settle(callId, {});
    const before = inst.ready ? [this.event(id, EVENT.SDK_NOT_READY)] : [];
    return this.settle(callId, {}, [...before, this.event(id, EVENT.SDK_DESTROY, { SDKAppID: inst.sdkAppId })]);
  };

  isReady = (id: string): boolean => this.instances.get(id)?.ready ?? false;
  getLoginUser = (id: string): string => this.instances.get(id)?.user ?? '';
  getServerTime = (): number => Math.floor(Date.now() / 1000);
  setLogLevel = (level: number): object =>
    Number.isInteger(level) && level >= 0 && level <= 4 ? {} : { code: ERROR_CODE.INVALID_ARGUMENT, message: 'log level must be 0..4' };

  updateUserSig = (id: string, userSig: string): number => {
    const callId = this.nextId++;
    const inst = this.instances.get(id);
    if (!inst || !inst.ready) return this.settle(callId, [ERROR_CODE.USER_NOT_LOGGED_IN, 'not logged in']);
    if (!userSig) return this.settle(callId, [ERROR_CODE.NO_USERSIG, 'userSig is required']);
    return this.settle(callId, {});
  };
  provideUserSig = (): boolean => false;
  setAppState = (_id: string, state: string): object =>
    state === 'active' || state === 'background' ? {} : { code: ERROR_CODE.INVALID_ARGUMENT, message: 'bad app state' };
  setNetworkReachable = (): object => ({});
  getSessionState = (id: string): string => {
    const inst = this.instances.get(id);
    const ready = inst?.ready ?? false;
    return JSON.stringify({
      ready,
      loginUser: inst?.user ?? '',
      netState: ready ? TYPES.NET_STATE_CONNECTED : TYPES.NET_STATE_DISCONNECTED,
      reconnectAttempt: 0,
    });
  };

  onNatterItem = (handler: (item: NatterItem) => void | Promise<void>) => {
    this.handlers.add(handler);
    return { remove: () => void this.handlers.delete(handler) };
  };

  kickOut(userID: string, type: string): void {
    for (const [id, inst] of this.instances) {
      if (!inst.ready || inst.user !== userID) continue;
      inst.ready = false;
      inst.user = '';
      this.emit([this.event(id, EVENT.KICKED_OUT, { type }), this.event(id, EVENT.SDK_NOT_READY)]);
    }
  }
}

const backend = new MemoryBackend();
const TencentCloudChat = createChatModule(() => backend);

/** Test controls of the in-memory backend. */
export const natterMock = {
  /** Kicks every logged-in instance of `userID` (`KICKED_OUT` with `type`, then `SDK_NOT_READY`). */
  kickOut(userID: string, type: string = TYPES.KICKED_OUT_MULT_ACCOUNT): void {
    backend.kickOut(userID, type);
  },
};

export default TencentCloudChat;
export const create = TencentCloudChat.create;
export { EVENT, TYPES, ERROR_CODE, DEFAULT_PROXY_SERVER } from './constants';
export { ChatInstance } from './chat';
export type { ChatSDK, ChatModule } from './chat';
export type * from './types';
