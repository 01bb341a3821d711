/**
 * The native-module contract of Natter: one TurboModule ("Natter") implemented by the Kotlin
 * (android/) and Swift (ios/) modules, and by the Node addon (bindings/node/) with the same
 * shape. Every method is instance-id based: `createInstance` returns an opaque id, and every
 * other per-instance call takes it first.
 *
 * Events: one typed codegen event emitter, `onNatterEvent`, carrying `{instanceId, name, data}`:
 *   name = the reference SDK's event value (compat.md):
 *     'sdkStateReady'    data {}
 *     'sdkStateNotReady' data {}
 *     'kickedOut'        data {type: 'multipleAccount'|'multipleDevice'|'userSigExpired'|'REST_API_Kick'}
 *     'netStateChange'   data {state: 'connected'|'connecting'|'disconnected'}
 *     'error'            data {code: number, message: string}
 *     'sdkDestroy'       data {SDKAppID: number}   (the last event of an instance)
 * Native sides deliver the events of one instance in order, none lost or duplicated; events
 * raised before JS subscribes are queued natively and flushed when the first listener attaches.
 * The TS layer (index.ts) subscribes once at module load and routes by instanceId.
 *
 * Errors: promise methods reject with a numeric `code` (a numeric string where the platform
 * forces strings, as RN's `promise.reject(code, message)`: the TS layer parses it) and an English
 * `message`. Synchronous methods cannot attach a code on RN: they throw with the message
 * "[<code>] <text>" (e.g. "[9001] invalid argument: ..."), which the TS layer parses too. Codes: compat.md client/server codes, plus 9001 invalid argument,
 * 9002 instance destroyed, 9003 internal.
 *
 * This file is parsed by @react-native/codegen (see js/__tests__/codegen.test.ts): keep it to
 * the types codegen accepts.
 */
import type { CodegenTypes, TurboModule } from 'react-native';
import { TurboModuleRegistry } from 'react-native';

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

export type NatterEvent = {
  instanceId: string;
  name: string;
  data: Object;
};

export interface Spec extends TurboModule {
  /** Validates the options and creates a client instance; throws a coded error. */
  createInstance(options: NatterCreateOptions): string;
  login(instanceId: string, userId: string, userSig: string): Promise<NatterLoginResult>;
  logout(instanceId: string): Promise<void>;
  destroy(instanceId: string): Promise<void>;
  isReady(instanceId: string): boolean;
  getLoginUser(instanceId: string): string;
  getServerTime(instanceId: string): number;
  /** 0 = debug … 4 = silent, as the reference SDK. */
  setLogLevel(level: number): void;

  readonly onNatterEvent: CodegenTypes.EventEmitter<NatterEvent>;
}

export default TurboModuleRegistry.get<Spec>('Natter');
