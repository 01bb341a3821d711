/**
 * What the TS layer needs from a native backend: the shape of the "Natter" TurboModule
 * (NativeNatter.ts, which documents it) without importing react-native, so that the public
 * typings and the Node build never depend on it. `backend.native.ts` checks at compile time
 * that the codegen Spec fits this contract; `backend.ts` adapts the Node addon to it.
 */

/** One item of the module's ordered stream (see NativeNatter.ts). */
export type NatterItem = {
  kind: string;
  instanceId?: string;
  name?: string;
  data?: string;
  callId?: number;
  ok?: boolean;
  code?: number;
  message?: string;
};

export interface NatterSubscription {
  remove(): void;
}

export interface NatterBackend {
  /** {instanceId} or {code, message}. */
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-wrapper-object-types -- codegen's `Object`
  create(options: Object): Object;
  login(instanceId: string, userId: string, userSig: string): number;
  logout(instanceId: string): number;
  destroy(instanceId: string): number;
  isReady(instanceId: string): boolean;
  getLoginUser(instanceId: string): string;
  getServerTime(instanceId: string): number;
  /** 0 = debug … 4 = silent: {} or {code, message}. */
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-wrapper-object-types -- codegen's `Object`
  setLogLevel(level: number): Object;
  updateUserSig(instanceId: string, userSig: string): number;
  provideUserSig(requestId: number, ok: boolean, value: string): boolean;
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-wrapper-object-types -- codegen's `Object`
  setAppState(instanceId: string, state: string): Object;
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-wrapper-object-types -- codegen's `Object`
  setNetworkReachable(instanceId: string, reachable: boolean): Object;
  getSessionState(instanceId: string): string;
  readonly onNatterItem: (handler: (item: NatterItem) => void | Promise<void>) => NatterSubscription;
}
