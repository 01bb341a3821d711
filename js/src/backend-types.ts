/**
 * What the TS layer needs from a native backend: the shape of the "Natter" TurboModule
 * (NativeNatter.ts) without importing react-native, so that the public typings and the Node
 * build never depend on it. `backend.native.ts` checks at compile time that the codegen Spec
 * fits this contract; `backend.ts` adapts the Node addon to it.
 */

export type NatterCreateOptions = {
  sdkAppId: number;
  /** ws:// or wss:// URL of the Natter server (the reference SDK's `proxyServer`). */
  serverUrl: string;
  /** web | android | ios | ipad | windows | mac | linux */
  platform: string;
  heartbeatIntervalMs?: number;
  requestTimeoutMs?: number;
  loginTimeoutMs?: number;
};

export type NatterLoginResult = {
  repeatLogin: boolean;
  errorInfo?: string;
};

/** One native event: `name` is the reference SDK's event value, `data` its payload. */
export type NatterEvent = {
  instanceId: string;
  name: string;
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-wrapper-object-types -- codegen's `Object`
  data: Object;
};

export interface NatterSubscription {
  remove(): void;
}

export interface NatterBackend {
  /** Validates the options and creates a client instance; throws a coded error. */
  createInstance(options: NatterCreateOptions): string;
  login(instanceId: string, userId: string, userSig: string): Promise<NatterLoginResult>;
  logout(instanceId: string): Promise<void>;
  destroy(instanceId: string): Promise<void>;
  isReady(instanceId: string): boolean;
  getLoginUser(instanceId: string): string;
  getServerTime(instanceId: string): number;
  /** 0 = debug … 4 = silent. */
  setLogLevel(level: number): void;
  /** Every event of every instance, in order per instance. */
  onNatterEvent(handler: (event: NatterEvent) => void | Promise<void>): NatterSubscription;
}
