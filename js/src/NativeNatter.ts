/**
 * The native-module contract of Natter: one TurboModule ("Natter") implemented by the Kotlin
 * (android/) and Swift (ios/) modules, and by the Node addon (bindings/node/) with the same
 * shape. Every method is a synchronous pass-through to the one `natter::hub::Hub` the module
 * owns; the behaviour (validation, call order, event order, queueing) lives in Rust.
 *
 * - `create(options)`: the `TencentCloudChat.create()` options object, read as it is
 *   (`SDKAppID`, `proxyServer`, `platform`, `heartbeatIntervalMs`, `requestTimeoutMs`,
 *   `loginTimeoutMs`, `reconnectMinDelayMs`, `reconnectMaxDelayMs`, `extraRootCertsPem`,
 *   `probeTimeoutMs`; numbers as doubles, strings as strings; `userSigProvider: true` when the app
 *   gave a provider). Returns `{instanceId}` or `{code, message}`; never throws.
 * - A `userSigNeeded` event item (`{"requestId":n}`) asks the TS layer to run the app's
 *   `userSigProvider` and answer with `provideUserSig`; it never reaches app handlers.
 * - `login`/`logout`/`destroy` return a call id at once; the outcome arrives as a `settled` item.
 * - `onNatterItem`: one ordered stream of the items of every instance:
 *     `{kind: 'event', instanceId, name, data}`: name = the reference SDK's event value, data =
 *       its data object as JSON text ('{}', '{"type":"multipleAccount"}', '{"state":"connected"}',
 *       '{"code":..,"message":..}', '{"SDKAppID":..}');
 *     `{kind: 'settled', callId, ok: true, data}` (data JSON: login `{"repeatLogin":false}` or
 *       `{"repeatLogin":true,"errorInfo":".."}`, logout/destroy `{}`), or
 *     `{kind: 'settled', callId, ok: false, code, message}`.
 *   Per instance, each settlement comes after every event the instance emitted before it; items
 *   raised before JS subscribed are queued in Rust and flushed in order.
 *
 * This file is parsed by @react-native/codegen (see js/__tests__/codegen.test.ts): keep it to
 * the types codegen accepts.
 */
import type { CodegenTypes, TurboModule } from 'react-native';
import { TurboModuleRegistry } from 'react-native';

export type NatterItem = {
  /** 'event' | 'settled' */
  kind: string;
  instanceId?: string;
  name?: string;
  data?: string;
  callId?: number;
  ok?: boolean;
  code?: number;
  message?: string;
};

export interface Spec extends TurboModule {
  /** {instanceId} or {code, message}: never throws. */
  create(options: Object): Object;
  login(instanceId: string, userId: string, userSig: string): number;
  logout(instanceId: string): number;
  destroy(instanceId: string): number;
  isReady(instanceId: string): boolean;
  getLoginUser(instanceId: string): string;
  getServerTime(instanceId: string): number;
  /** 0 = debug … 4 = silent: {} or {code, message}. */
  setLogLevel(level: number): Object;
  /** Natter: the call id of `updateUserSig`; the outcome arrives as a `settled` item. */
  updateUserSig(instanceId: string, userSig: string): number;
  /** Natter: answers a `userSigNeeded {requestId}` item: ok → value is the sig, else the error message. */
  provideUserSig(requestId: number, ok: boolean, value: string): boolean;
  /** Natter: 'active' | 'background': {} or {code, message}. */
  setAppState(instanceId: string, state: string): Object;
  /** Natter: {} or {code, message}. */
  setNetworkReachable(instanceId: string, reachable: boolean): Object;
  /** Natter: `getSessionState()` as JSON text. */
  getSessionState(instanceId: string): string;

  readonly onNatterItem: CodegenTypes.EventEmitter<NatterItem>;
}

export default TurboModuleRegistry.get<Spec>('Natter');
