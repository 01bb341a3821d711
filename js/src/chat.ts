/**
 * The TencentCloudChat-compatible session API over a NatterBackend (the RN TurboModule or the
 * Node addon). Everything here is platform-neutral; `index.ts` picks the backend.
 *
 * The behaviour lives in Rust (`natter::hub`): option validation, call order, the order of
 * events and settlements, queueing before JS subscribed. This layer keeps only what is JS:
 * promises by call id, events routed by instance id to `on`/`off` handlers (with `context`),
 * the `create()` cache and the reference SDK's response shapes.
 *
 * Items are handled in stream order. After a promise settles, the rest of the stream waits for
 * the next macrotask, so code after `await chat.login()` runs before the `SDK_READY` handlers
 * (the reference order: the login promise resolves, then `SDK_READY`).
 */
import { DEFAULT_PROXY_SERVER, ERROR_CODE, EVENT, TYPES } from './constants';
import type { NatterBackend, NatterItem } from './backend-types';
import type { LifecycleSource } from './lifecycle-types';
import type {
  AppState,
  ChatError,
  ChatEvent,
  ChatResponse,
  CreateOptions,
  EventName,
  LoginData,
  LoginOptions,
  SessionState,
} from './types';

/** The hub's request for the app's `userSigProvider` (`{requestId}`); never shown to app handlers. */
const USER_SIG_NEEDED = 'userSigNeeded';

type AnyHandler = (...args: any[]) => unknown; // eslint-disable-line @typescript-eslint/no-explicit-any
interface Registration {
  handler: AnyHandler;
  context: unknown;
}
interface PendingCall {
  resolve: (data: Record<string, unknown>) => void;
  reject: (e: ChatError) => void;
}

export function chatError(code: number, message: string, data: Record<string, unknown> = {}): ChatError {
  return Object.assign(new Error(message), { code, data });
}

/** Normalises an error thrown by a backend (numeric or numeric-string `code`) to a ChatError. */
export function fromNative(e: unknown): ChatError {
  const raw = (e ?? {}) as { code?: unknown; message?: unknown };
  const code = typeof raw.code === 'number' ? raw.code : Number(raw.code);
  const message = typeof raw.message === 'string' && raw.message ? raw.message : String(e);
  if (Number.isFinite(code) && raw.code !== '' && raw.code !== null && raw.code !== undefined) {
    return chatError(code, message);
  }
  return chatError(ERROR_CODE.INTERNAL, `native module error: ${message}`);
}

function parseData(text: string | undefined): Record<string, unknown> {
  if (!text) return {};
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** Module-wide state of one backend: routes, pending calls, the create() cache, the item queue. */
class Module {
  backend: NatterBackend | undefined;
  backendError: ChatError | undefined;
  logLevel = 2;
  readonly routes = new Map<string, ChatInstance>();
  readonly calls = new Map<number, PendingCall>();
  readonly cache = new Map<string, ChatInstance>();
  private readonly queue: NatterItem[] = [];
  private paused = false;
  /** Set while instances with `autoLifecycle` exist and a lifecycle source is subscribed. */
  private unsubscribeLifecycle: (() => void) | undefined;

  constructor(private readonly lifecycle?: LifecycleSource) {}

  /** Subscribes to the platform's app-state and reachability once, for every instance. */
  watchLifecycle(): void {
    if (this.unsubscribeLifecycle || !this.lifecycle) return;
    this.unsubscribeLifecycle = this.lifecycle.subscribe(
      (state) => {
        for (const i of this.routes.values()) if (i.autoLifecycle) i.setAppState(state);
      },
      (reachable) => {
        for (const i of this.routes.values()) if (i.autoLifecycle) i.setNetworkReachable(reachable);
      },
    );
  }

  log(level: number, ...args: unknown[]): void {
    if (level < this.logLevel) return;
    const out = level >= 3 ? console.error : level === 2 ? console.warn : console.log;
    out('[natter]', ...args);
  }

  receive = (item: NatterItem): void => {
    this.queue.push(item);
    this.drain();
  };

  /** Registers a call id; the promise settles when its `settled` item is handled. */
  track(callId: number): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => this.calls.set(callId, { resolve, reject }));
  }

  private drain(): void {
    while (!this.paused && this.queue.length > 0) {
      const item = this.queue.shift() as NatterItem;
      if (item.kind === 'settled') {
        this.settle(item);
        // Let the awaiting code run (all of its microtasks) before the next item.
        this.paused = true;
        setTimeout(() => {
          this.paused = false;
          this.drain();
        }, 0);
      } else if (item.kind === 'event' && item.name === USER_SIG_NEEDED) {
        const requestId = Number(parseData(item.data).requestId);
        this.routes.get(item.instanceId ?? '')?.fetchUserSig(requestId);
      } else if (item.kind === 'event') {
        this.routes.get(item.instanceId ?? '')?.dispatch(item.name ?? '', parseData(item.data));
      }
    }
  }

  private settle(item: NatterItem): void {
    const call = this.calls.get(item.callId ?? -1);
    if (!call) return;
    this.calls.delete(item.callId as number);
    if (item.ok) call.resolve(parseData(item.data));
    else call.reject(chatError(item.code ?? ERROR_CODE.INTERNAL, item.message ?? 'unknown error'));
  }
}

/**
 * One client instance (the reference SDK's `ChatSDK`). Get it from `TencentCloudChat.create()`.
 */
export class ChatInstance {
  /** @internal */ private readonly handlers = new Map<string, Registration[]>();

  /** @internal */
  constructor(
    private readonly module: Module,
    /** @internal null: created without SDKAppID; every call fails with `missing`. */
    private readonly nativeId: string | null,
    private readonly cacheKey: string | null,
    private readonly missing: ChatError | null = null,
    /** @internal */ private readonly userSigProvider?: () => Promise<string>,
    /** @internal React Native: fed from AppState / NetInfo by the module. */
    readonly autoLifecycle: boolean = false,
  ) {}

  /**
   * Logs in. Resolves `{code: 0, data: {repeatLogin: false}}` once the server accepted the
   * login (`SDK_READY` follows), or `{code: 0, data: {repeatLogin: true, errorInfo}}` when
   * already logged in. Rejects with a ChatError (2000/2002/2003/2025/2800/2801/700xx/9002).
   */
  async login(options: LoginOptions): Promise<ChatResponse<LoginData>> {
    const userID: unknown = options?.userID;
    const userSig: unknown = options?.userSig;
    // Only the JS types are checked here; the values are checked in Rust.
    if (typeof userID !== 'string') throw chatError(ERROR_CODE.NO_IDENTIFIER, 'userID must be a string');
    if (typeof userSig !== 'string') throw chatError(ERROR_CODE.NO_USERSIG, 'userSig must be a string');
    const data = await this.call((b, id) => b.login(id, userID, userSig));
    return data.repeatLogin === true
      ? { code: 0, data: { repeatLogin: true, errorInfo: String(data.errorInfo ?? '') } }
      : { code: 0, data: { repeatLogin: false } };
  }

  /** Logs out: `SDK_NOT_READY` is dispatched, then this resolves `{code: 0, data: {}}`. 2024 when not logged in. */
  async logout(): Promise<ChatResponse<Record<string, never>>> {
    await this.call((b, id) => b.logout(id));
    return { code: 0, data: {} };
  }

  /**
   * Logs out if needed, closes the connection, releases the instance; `SDK_DESTROY {SDKAppID}`
   * is its last event and clears the `create()` cache entry. Resolves `{code: 0, data: {}}`,
   * also when logged out or already destroyed. Later calls reject with 9002.
   */
  async destroy(): Promise<ChatResponse<Record<string, never>>> {
    if (this.nativeId === null) {
      this.dispatch(EVENT.SDK_DESTROY, { SDKAppID: 0 });
      return { code: 0, data: {} };
    }
    await this.call((b, id) => b.destroy(id));
    this.forget();
    return { code: 0, data: {} };
  }

  /**
   * Natter: presents a new UserSig for the live session; the server verifies it for the same
   * user and app and moves the expiry kick. Resolves `{code: 0, data: {}}`; rejects with the
   * server's code (70013 another user's sig, 70001 expired, …) and the session continues on the
   * old sig; 2024 when not logged in. While the link is down the sig is kept for the silent
   * re-login and the call resolves at once.
   */
  async updateUserSig(userSig: string): Promise<ChatResponse<Record<string, never>>> {
    if (typeof userSig !== 'string') throw chatError(ERROR_CODE.NO_USERSIG, 'userSig must be a string');
    await this.call((b, id) => b.updateUserSig(id, userSig));
    return { code: 0, data: {} };
  }

  /**
   * Natter: `'active'` after `'background'` probes the link with one ping (deadline
   * `probeTimeoutMs`) and reconnects at once if it is dead. On React Native the package calls
   * this itself from `AppState` unless `autoLifecycle: false`. Throws 9001 for another value.
   */
  setAppState(state: AppState): void {
    this.sync((b, id) => b.setAppState(id, String(state)));
  }

  /**
   * Natter: `false` → `NET_STATE_CHANGE disconnected` (reason `networkUnreachable`) at once and no
   * connection attempts; `true` → probe or reconnect at once. On React Native the package calls
   * this itself when `@react-native-community/netinfo` is installed.
   */
  setNetworkReachable(reachable: boolean): void {
    if (typeof reachable !== 'boolean') throw chatError(ERROR_CODE.INVALID_ARGUMENT, 'setNetworkReachable(): a boolean is required');
    this.sync((b, id) => b.setNetworkReachable(id, reachable));
  }

  /** Natter, synchronous: `{ready, loginUser, netState, lastKick?, reconnectAttempt, nextRetryAt?, userSigExpireTime?}`. */
  getSessionState(): SessionState {
    const fresh: SessionState = { ready: false, loginUser: '', netState: 'disconnected', reconnectAttempt: 0 };
    if (this.nativeId === null) return fresh;
    const parsed = parseData((this.module.backend as NatterBackend).getSessionState(this.nativeId));
    return Object.keys(parsed).length ? (parsed as unknown as SessionState) : fresh;
  }

  /** Synchronous: the logged-in userID, `''` when not logged in. */
  getLoginUser(): string {
    return this.nativeId === null ? '' : (this.module.backend as NatterBackend).getLoginUser(this.nativeId);
  }

  /** Synchronous: the server's clock in ms (local clock before the first login). */
  getServerTime(): number {
    return this.nativeId === null ? Date.now() : (this.module.backend as NatterBackend).getServerTime(this.nativeId);
  }

  /** Synchronous: true between `SDK_READY` and `SDK_NOT_READY`. */
  isReady(): boolean {
    return this.nativeId !== null && (this.module.backend as NatterBackend).isReady(this.nativeId);
  }

  /**
   * Registers `handler` for `eventName`; it is called with `{name, data}` and `this` = `context`.
   * Registering the same handler twice calls it twice. Throws on a bad event name or handler.
   */
  on<N extends EventName>(eventName: N, handler: (event: ChatEvent<N>) => void, context?: unknown): void;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- the reference's signature
  on(eventName: string, handler: Function, context?: unknown): void;
  on(eventName: string, handler: AnyHandler, context?: unknown): void {
    if (typeof eventName !== 'string' || eventName === '') {
      throw chatError(ERROR_CODE.INVALID_ARGUMENT, 'on(): the event name must be a non-empty string');
    }
    if (typeof handler !== 'function') {
      throw chatError(ERROR_CODE.INVALID_ARGUMENT, 'on(): the handler must be a function');
    }
    const list = this.handlers.get(eventName);
    const registration = { handler, context };
    if (list) list.push(registration);
    else this.handlers.set(eventName, [registration]);
  }

  /**
   * Removes every registration of `handler` for `eventName` (only those with `context` when
   * given); without a handler, removes all handlers of `eventName`.
   */
  off<N extends EventName>(eventName: N, handler?: (event: ChatEvent<N>) => void, context?: unknown): void;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- the reference's signature
  off(eventName: string, handler?: Function, context?: unknown): void;
  off(eventName: string, handler?: AnyHandler, context?: unknown): void {
    const list = this.handlers.get(eventName);
    if (!list) return;
    const kept =
      handler === undefined
        ? []
        : list.filter((r) => r.handler !== handler || (context !== undefined && r.context !== context));
    if (kept.length) this.handlers.set(eventName, kept);
    else this.handlers.delete(eventName);
  }

  /** 0 = debug … 4 = silent (process-wide, as the native log is). Other values are ignored with an error log. */
  setLogLevel(level: number): void {
    const r = (this.module.backend?.setLogLevel(level) ?? {}) as { code?: number; message?: string };
    if (typeof r.code === 'number') {
      this.module.log(3, `setLogLevel: ${r.message ?? r.code}`);
      return;
    }
    this.module.logLevel = level;
  }

  // ---- internals ----

  /** @internal Runs the app's provider for the hub's request `requestId` and answers it. */
  fetchUserSig(requestId: number): void {
    const backend = this.module.backend as NatterBackend;
    const provider = this.userSigProvider;
    if (!provider) {
      backend.provideUserSig(requestId, false, 'no userSigProvider');
      return;
    }
    const answer = (ok: boolean, value: string): void => void backend.provideUserSig(requestId, ok, value);
    try {
      Promise.resolve(provider()).then(
        (sig) => (typeof sig === 'string' ? answer(true, sig) : answer(false, 'userSigProvider resolved a non-string')),
        (e: unknown) => answer(false, e instanceof Error ? e.message : String(e)),
      );
    } catch (e) {
      answer(false, e instanceof Error ? e.message : String(e));
    }
  }

  /** A synchronous backend call answering `{}` or `{code, message}`: throws the latter. */
  private sync(run: (backend: NatterBackend, id: string) => object): void {
    if (this.missing) throw this.missing;
    const r = run(this.module.backend as NatterBackend, this.nativeId as string) as { code?: number; message?: string };
    if (typeof r.code === 'number') throw chatError(r.code, r.message ?? 'failed');
  }

  /** @internal Called by the module with this instance's events, in stream order. */
  dispatch(name: string, data: Record<string, unknown>): void {
    if (name === EVENT.SDK_DESTROY) this.forget();
    const registrations = (this.handlers.get(name) ?? []).slice();
    for (const r of registrations) {
      try {
        const result = r.handler.call(r.context, { name, data });
        if (result && typeof (result as Promise<unknown>).then === 'function') {
          (result as Promise<unknown>).then(undefined, (e: unknown) =>
            this.module.log(3, `a handler of ${name} rejected`, e),
          );
        }
      } catch (e) {
        this.module.log(3, `a handler of ${name} threw; other handlers still run`, e);
      }
    }
  }

  private async call(start: (backend: NatterBackend, id: string) => number): Promise<Record<string, unknown>> {
    if (this.missing) throw this.missing;
    const backend = this.module.backend as NatterBackend;
    return this.module.track(start(backend, this.nativeId as string));
  }

  /** Drops the cache entry at `SDK_DESTROY` (a later create() makes a new instance). */
  private forget(): void {
    if (this.cacheKey !== null && this.module.cache.get(this.cacheKey) === this) this.module.cache.delete(this.cacheKey);
  }
}

/** The reference SDK's name for an instance. */
export type ChatSDK = ChatInstance;

export interface ChatModule {
  /**
   * Returns the instance for `(SDKAppID, instanceName)`, creating it when there is none (or the
   * previous one was destroyed). Without SDKAppID the instance exists and its calls reject 2000;
   * an invalid SDKAppID logs an error and returns `null`; other bad options throw a ChatError (9001).
   */
  create(options: CreateOptions): ChatInstance;
  readonly EVENT: typeof EVENT;
  readonly TYPES: typeof TYPES;
  readonly ERROR_CODE: typeof ERROR_CODE;
}

const NUMBER_OPTIONS = [
  'heartbeatIntervalMs',
  'requestTimeoutMs',
  'loginTimeoutMs',
  'reconnectMinDelayMs',
  'reconnectMaxDelayMs',
  'probeTimeoutMs',
] as const;

/** The SDKAppID as a JS number (the reference accepts its decimal string too); Rust validates it. */
function sdkAppIdNumber(v: unknown): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'string') return /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
  return typeof v === 'number' ? v : NaN;
}

/** Builds the module over a backend provider, and subscribes to its items at once. */
export function createChatModule(getBackend: () => NatterBackend, lifecycle?: LifecycleSource): ChatModule {
  const mod = new Module(lifecycle);
  try {
    mod.backend = getBackend();
    mod.backend.onNatterItem(mod.receive);
  } catch (e) {
    mod.backend = undefined;
    mod.backendError = fromNative(e);
  }

  function create(options: CreateOptions): ChatInstance {
    const o = (options ?? {}) as Partial<CreateOptions> & Record<string, unknown>;
    const instanceName = o.instanceName ?? '';
    if (typeof instanceName !== 'string') {
      throw chatError(ERROR_CODE.INVALID_ARGUMENT, 'create(): instanceName must be a string');
    }
    const sdkAppId = sdkAppIdNumber(o.SDKAppID);
    const key = `${String(sdkAppId)}\u0000${instanceName}`;
    const cached = mod.cache.get(key);
    if (cached) return cached;
    if (!mod.backend) throw mod.backendError as ChatError;
    // Marshal the JS types; the values are validated in Rust.
    const provider: unknown = o.userSigProvider;
    if (provider !== undefined && typeof provider !== 'function') {
      throw chatError(ERROR_CODE.INVALID_ARGUMENT, 'create(): userSigProvider must be a function returning a Promise<string>');
    }
    const native: Record<string, number | string | boolean> = {
      proxyServer: o.proxyServer ?? DEFAULT_PROXY_SERVER,
      platform: o.platform ?? 'web',
    };
    if (sdkAppId !== undefined) native.SDKAppID = sdkAppId;
    if (o.extraRootCertsPem !== undefined) native.extraRootCertsPem = o.extraRootCertsPem;
    for (const k of ['proxyServer', 'platform', 'extraRootCertsPem'] as const) {
      if (k in native && typeof native[k] !== 'string') throw chatError(ERROR_CODE.INVALID_ARGUMENT, `create(): ${k} must be a string`);
    }
    for (const k of NUMBER_OPTIONS) {
      const v = o[k];
      if (v === undefined) continue;
      if (typeof v !== 'number') throw chatError(ERROR_CODE.INVALID_ARGUMENT, `create(): ${k} must be a number`);
      native[k] = v;
    }
    if (provider !== undefined) native.userSigProvider = true;
    const r = mod.backend.create(native) as { instanceId?: string; code?: number; message?: string };
    if (typeof r.instanceId !== 'string') {
      const err = chatError(r.code ?? ERROR_CODE.INTERNAL, r.message ?? 'create() failed');
      if (err.code !== ERROR_CODE.NO_SDKAPPID) throw err;
      if (sdkAppId !== undefined) {
        mod.log(3, `create(): ${err.message}`);
        return null as unknown as ChatInstance;
      }
      // Like the reference: the instance exists, and login rejects 2000.
      mod.log(3, 'create(): SDKAppID is missing; login() will fail with 2000');
      return new ChatInstance(mod, null, null, err);
    }
    const auto = o.autoLifecycle !== false && lifecycle !== undefined;
    const instance = new ChatInstance(mod, r.instanceId, key, null, provider as (() => Promise<string>) | undefined, auto);
    mod.cache.set(key, instance);
    mod.routes.set(r.instanceId, instance);
    if (auto) mod.watchLifecycle();
    if (o.logLevel !== undefined) instance.setLogLevel(o.logLevel);
    return instance;
  }

  return { create, EVENT, TYPES, ERROR_CODE };
}
