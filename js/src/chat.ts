/**
 * The TencentCloudChat-compatible session API over a NatterBackend (the RN TurboModule or the
 * Node addon). Everything here is platform-neutral; `index.ts` picks the backend.
 *
 * Event routing: one subscription to the backend's `onNatterEvent`, made when the module loads,
 * routes `{instanceId, name, data}` to the instance with that id. Events for an id the module does
 * not know yet are buffered and handed over when the instance registers, so none is lost; each
 * instance queues its events and dispatches them in arrival order, each exactly once.
 *
 * Ordering rules of the reference SDK enforced here, whatever order the native side's promise
 * settlements and events reach JS in:
 * - `SDK_READY` is dispatched after the login promise resolved (held while a login is pending,
 *   released on the next macrotask after it settles);
 * - `logout()` resolves after its `SDK_NOT_READY` was dispatched;
 * - `destroy()` resolves after `SDK_DESTROY` (the instance's last event) was dispatched.
 */
import { DEFAULT_PROXY_SERVER, ERROR_CODE, EVENT, TYPES } from './constants';
import type { NatterBackend, NatterCreateOptions, NatterEvent } from './backend-types';
import type {
  ChatError,
  ChatEvent,
  ChatResponse,
  CreateOptions,
  EventName,
  LoginData,
  LoginOptions,
} from './types';

/** How long `logout`/`destroy` wait for their event after the native call resolved. */
const EVENT_WAIT_MS = 5000;
/** Events kept for an instance id not registered (yet); beyond this the oldest are dropped. */
const ORPHAN_LIMIT = 256;

type AnyHandler = (...args: any[]) => unknown; // eslint-disable-line @typescript-eslint/no-explicit-any
interface Registration {
  handler: AnyHandler;
  context: unknown;
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
  // Synchronous TurboModule methods cannot attach a code to the JS error: the native side
  // throws with the message "[code] text" (RN may prefix it, e.g. "Exception in HostFunction: ").
  const tagged = /\[(\d{1,9})\]\s*([\s\S]*)$/.exec(message);
  if (tagged) return chatError(Number(tagged[1]), (tagged[2] ?? '').trim() || message);
  return chatError(ERROR_CODE.INTERNAL, `native module error: ${message}`);
}

/** Module-wide state shared by the instances of one module (one per backend). */
class Hub {
  backend: NatterBackend | undefined;
  backendError: ChatError | undefined;
  logLevel = 2;
  readonly routes = new Map<string, ChatInstance>();
  readonly orphans = new Map<string, NatterEvent[]>();
  readonly cache = new Map<string, ChatInstance>();

  log(level: number, ...args: unknown[]): void {
    if (level < this.logLevel) return;
    const out = level >= 3 ? console.error : level === 2 ? console.warn : console.log;
    out('[natter]', ...args);
  }

  route = (event: NatterEvent): void => {
    const target = this.routes.get(event.instanceId);
    if (target) {
      target.receive(event);
      return;
    }
    let buffered = this.orphans.get(event.instanceId);
    if (!buffered) this.orphans.set(event.instanceId, (buffered = []));
    buffered.push(event);
    if (buffered.length > ORPHAN_LIMIT) buffered.shift();
  };

  /**
   * Routes `id` to `instance`. Events buffered for it join its queue first; the instance starts
   * dispatching on the next microtask, so handlers attached right after `create()` (same tick)
   * get every event, the buffered ones included.
   */
  register(id: string, instance: ChatInstance): void {
    this.routes.set(id, instance);
    const buffered = this.orphans.get(id);
    this.orphans.delete(id);
    instance.start(buffered ?? []);
  }
}

/**
 * One client instance (the reference SDK's `ChatSDK`). Get it from `TencentCloudChat.create()`.
 */
export class ChatInstance {
  /** @internal */ private readonly handlers = new Map<string, Registration[]>();
  /** @internal */ private readonly queue: NatterEvent[] = [];
  /** @internal */ private draining = false;
  /** @internal Closed until the microtask after create(): see Hub.register. */ private gated = true;
  /** @internal */ private pendingLogins = 0;
  /** @internal */ private readonly received = new Map<string, number>();
  /** @internal */ private readonly dispatched = new Map<string, number>();
  /** @internal */ private waiters: Array<{ name: string; count: number; done: () => void }> = [];
  /** @internal */ private destroying: Promise<ChatResponse<Record<string, never>>> | undefined;
  /** @internal */ private destroyed = false;

  /** @internal */
  constructor(
    private readonly hub: Hub,
    private readonly nativeId: string | null,
    private readonly sdkAppId: number,
    private readonly cacheKey: string | null,
  ) {}

  /**
   * Logs in. Resolves `{code: 0, data: {repeatLogin: false}}` once the server accepted the
   * login (`SDK_READY` follows), or `{code: 0, data: {repeatLogin: true, errorInfo}}` when
   * already logged in. Rejects with a ChatError (2000/2002/2003/2025/2800/2801/700xx/9002).
   */
  async login(options: LoginOptions): Promise<ChatResponse<LoginData>> {
    if (this.destroying || this.destroyed) throw this.destroyedError();
    if (this.nativeId === null) throw chatError(ERROR_CODE.NO_SDKAPPID, 'SDKAppID is missing: pass it to create()');
    const userID: unknown = options?.userID;
    const userSig: unknown = options?.userSig;
    if (typeof userID !== 'string' || userID === '') {
      throw chatError(ERROR_CODE.NO_IDENTIFIER, 'userID is missing or empty');
    }
    if (typeof userSig !== 'string' || userSig === '') {
      throw chatError(ERROR_CODE.NO_USERSIG, 'userSig is missing or empty');
    }
    const backend = this.hub.backend as NatterBackend;
    this.pendingLogins += 1;
    try {
      const r = await backend.login(this.nativeId, userID, userSig);
      return r.repeatLogin
        ? { code: 0, data: { repeatLogin: true, errorInfo: r.errorInfo ?? '' } }
        : { code: 0, data: { repeatLogin: false } };
    } catch (e) {
      throw fromNative(e);
    } finally {
      this.pendingLogins -= 1;
      // SDK_READY (held meanwhile) goes out on the next macrotask: after the caller's `await`.
      if (this.pendingLogins === 0 && this.queue.length > 0) setTimeout(() => this.drain(), 0);
    }
  }

  /** Logs out: `SDK_NOT_READY` is dispatched, then this resolves `{code: 0, data: {}}`. 2024 when not logged in. */
  async logout(): Promise<ChatResponse<Record<string, never>>> {
    if (this.destroying || this.destroyed) throw this.destroyedError();
    if (this.nativeId === null) throw chatError(ERROR_CODE.USER_NOT_LOGGED_IN, 'not logged in');
    const target = this.count(this.received, EVENT.SDK_NOT_READY) + 1;
    try {
      await (this.hub.backend as NatterBackend).logout(this.nativeId);
    } catch (e) {
      throw fromNative(e);
    }
    await this.waitDispatched(EVENT.SDK_NOT_READY, target);
    return { code: 0, data: {} };
  }

  /**
   * Logs out if needed, closes the connection, releases the instance; `SDK_DESTROY {SDKAppID}`
   * is its last event and clears the `create()` cache entry. Resolves `{code: 0, data: {}}`,
   * also when logged out or already destroyed. Later calls reject with 9002.
   */
  destroy(): Promise<ChatResponse<Record<string, never>>> {
    if (!this.destroying) this.destroying = this.runDestroy();
    return this.destroying;
  }

  /** Synchronous: the logged-in userID, `''` when not logged in. */
  getLoginUser(): string {
    if (this.destroyed || this.nativeId === null) return '';
    return (this.hub.backend as NatterBackend).getLoginUser(this.nativeId);
  }

  /** Synchronous: the server's clock in ms (local clock before the first login). */
  getServerTime(): number {
    if (this.destroyed || this.nativeId === null) return Date.now();
    return (this.hub.backend as NatterBackend).getServerTime(this.nativeId);
  }

  /** Synchronous: true between `SDK_READY` and `SDK_NOT_READY`. */
  isReady(): boolean {
    if (this.destroyed || this.nativeId === null) return false;
    return (this.hub.backend as NatterBackend).isReady(this.nativeId);
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
    if (!Number.isInteger(level) || level < 0 || level > 4) {
      this.hub.log(3, `setLogLevel: level must be an integer 0..4, got ${String(level)}`);
      return;
    }
    this.hub.logLevel = level;
    try {
      this.hub.backend?.setLogLevel(level);
    } catch (e) {
      this.hub.log(3, 'setLogLevel failed', e);
    }
  }

  // ---- internals ----

  /** @internal Queues events that arrived before registration, and opens the gate next microtask. */
  start(buffered: NatterEvent[]): void {
    for (const e of buffered) this.receive(e);
    queueMicrotask(() => {
      this.gated = false;
      this.drain();
    });
  }

  /** @internal Called by the hub with this instance's events, in native order. */
  receive(event: NatterEvent): void {
    this.received.set(event.name, this.count(this.received, event.name) + 1);
    this.queue.push(event);
    this.drain();
  }

  private drain(): void {
    if (this.draining || this.gated) return;
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        const next = this.queue[0] as NatterEvent;
        if (next.name === EVENT.SDK_READY && this.pendingLogins > 0) break;
        this.queue.shift();
        this.dispatch(next);
      }
    } finally {
      this.draining = false;
    }
  }

  private dispatch(event: NatterEvent): void {
    const name = event.name;
    const data = (event.data ?? {}) as Record<string, unknown>;
    if (name === EVENT.SDK_DESTROY) this.markDestroyed();
    const registrations = (this.handlers.get(name) ?? []).slice();
    for (const r of registrations) {
      try {
        const result = r.handler.call(r.context, { name, data });
        if (result && typeof (result as Promise<unknown>).then === 'function') {
          (result as Promise<unknown>).then(undefined, (e: unknown) =>
            this.hub.log(3, `a handler of ${name} rejected`, e),
          );
        }
      } catch (e) {
        this.hub.log(3, `a handler of ${name} threw; other handlers still run`, e);
      }
    }
    this.dispatched.set(name, this.count(this.dispatched, name) + 1);
    const ready = this.waiters.filter((w) => this.count(this.dispatched, w.name) >= w.count);
    this.waiters = this.waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.done();
  }

  private count(map: Map<string, number>, name: string): number {
    return map.get(name) ?? 0;
  }

  private waitDispatched(name: string, count: number): Promise<void> {
    if (this.count(this.dispatched, name) >= count) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        this.hub.log(2, `${name} was not delivered within ${EVENT_WAIT_MS} ms; resolving anyway`);
        resolve();
      }, EVENT_WAIT_MS);
      const waiter = {
        name,
        count,
        done: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.waiters.push(waiter);
    });
  }

  private async runDestroy(): Promise<ChatResponse<Record<string, never>>> {
    if (this.destroyed) return { code: 0, data: {} };
    if (this.nativeId === null) {
      this.receive({ instanceId: '', name: EVENT.SDK_DESTROY, data: { SDKAppID: this.sdkAppId } });
      return { code: 0, data: {} };
    }
    const target = this.count(this.received, EVENT.SDK_DESTROY) + 1;
    try {
      await (this.hub.backend as NatterBackend).destroy(this.nativeId);
    } catch (e) {
      const err = fromNative(e);
      if (err.code !== ERROR_CODE.INSTANCE_DESTROYED) throw err;
    }
    await this.waitDispatched(EVENT.SDK_DESTROY, target);
    this.markDestroyed();
    return { code: 0, data: {} };
  }

  private markDestroyed(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    if (this.cacheKey !== null && this.hub.cache.get(this.cacheKey) === this) this.hub.cache.delete(this.cacheKey);
    if (this.nativeId !== null) {
      const id = this.nativeId;
      // Unroute once the queue is empty; nothing follows SDK_DESTROY.
      setTimeout(() => {
        if (this.hub.routes.get(id) === this) this.hub.routes.delete(id);
      }, 0);
    }
  }

  private destroyedError(): ChatError {
    return chatError(ERROR_CODE.INSTANCE_DESTROYED, 'this instance has been destroyed; call create() again');
  }
}

/** The reference SDK's name for an instance. */
export type ChatSDK = ChatInstance;

function parseSdkAppId(v: unknown): number | null | undefined {
  if (v === undefined || v === null || v === '' || v === 0) return undefined;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v > 0) return v;
  if (typeof v === 'string' && /^\d{1,15}$/.test(v.trim()) && Number(v) > 0) return Number(v);
  return null;
}

export interface ChatModule {
  /**
   * Returns the instance for `(SDKAppID, instanceName)`, creating it when there is none (or the
   * previous one was destroyed). An unparsable SDKAppID logs an error and returns `null`; bad
   * Natter options throw a ChatError (9001).
   */
  create(options: CreateOptions): ChatInstance;
  readonly EVENT: typeof EVENT;
  readonly TYPES: typeof TYPES;
  readonly ERROR_CODE: typeof ERROR_CODE;
}

/** Builds the module over a backend provider, and subscribes to its events at once. */
export function createChatModule(getBackend: () => NatterBackend): ChatModule {
  const hub = new Hub();
  try {
    hub.backend = getBackend();
    hub.backend.onNatterEvent(hub.route);
  } catch (e) {
    hub.backend = undefined;
    hub.backendError = fromNative(e);
  }

  function create(options: CreateOptions): ChatInstance {
    const o = (options ?? {}) as Partial<CreateOptions>;
    const sdkAppId = parseSdkAppId(o.SDKAppID);
    if (sdkAppId === null) {
      hub.log(3, `create(): SDKAppID must be a positive integer, got ${JSON.stringify(o.SDKAppID)}`);
      return null as unknown as ChatInstance;
    }
    const instanceName = o.instanceName ?? '';
    if (typeof instanceName !== 'string') {
      throw chatError(ERROR_CODE.INVALID_ARGUMENT, 'create(): instanceName must be a string');
    }
    if (sdkAppId === undefined) {
      // Like the reference: the instance exists, and login rejects 2000.
      hub.log(3, 'create(): SDKAppID is missing; login() will fail with 2000');
      return new ChatInstance(hub, null, 0, null);
    }
    const key = `${sdkAppId}\u0000${instanceName}`;
    const cached = hub.cache.get(key);
    if (cached) return cached;
    if (!hub.backend) throw hub.backendError as ChatError;
    const native: NatterCreateOptions = {
      sdkAppId,
      serverUrl: o.proxyServer ?? DEFAULT_PROXY_SERVER,
      platform: o.platform ?? 'web',
    };
    if (o.heartbeatIntervalMs !== undefined) native.heartbeatIntervalMs = o.heartbeatIntervalMs;
    if (o.requestTimeoutMs !== undefined) native.requestTimeoutMs = o.requestTimeoutMs;
    if (o.loginTimeoutMs !== undefined) native.loginTimeoutMs = o.loginTimeoutMs;
    for (const [k, v] of Object.entries(native)) {
      if (k !== 'serverUrl' && k !== 'platform' && (typeof v !== 'number' || !Number.isFinite(v))) {
        throw chatError(ERROR_CODE.INVALID_ARGUMENT, `create(): ${k} must be a finite number`);
      }
    }
    if (typeof native.serverUrl !== 'string' || typeof native.platform !== 'string') {
      throw chatError(ERROR_CODE.INVALID_ARGUMENT, 'create(): proxyServer and platform must be strings');
    }
    let id: string;
    try {
      id = hub.backend.createInstance(native);
    } catch (e) {
      throw fromNative(e);
    }
    const instance = new ChatInstance(hub, id, sdkAppId, key);
    hub.cache.set(key, instance);
    hub.register(id, instance);
    if (o.logLevel !== undefined) instance.setLogLevel(o.logLevel);
    return instance;
  }

  return { create, EVENT, TYPES, ERROR_CODE };
}
