/** `TencentCloudChat.EVENT`: the reference SDK's session event values (compat.md). */
export const EVENT = Object.freeze({
  SDK_READY: 'sdkStateReady',
  SDK_NOT_READY: 'sdkStateNotReady',
  KICKED_OUT: 'kickedOut',
  NET_STATE_CHANGE: 'netStateChange',
  ERROR: 'error',
  SDK_DESTROY: 'sdkDestroy',
  /** Natter: the UserSig expires at `data.expireTime` (ms) and no `userSigProvider` renews it: call `updateUserSig`. */
  USER_SIG_EXPIRING: 'userSigExpiring',
} as const);

/** `TencentCloudChat.TYPES`: kick types and net states (compat.md). */
export const TYPES = Object.freeze({
  KICKED_OUT_MULT_ACCOUNT: 'multipleAccount',
  KICKED_OUT_MULT_DEVICE: 'multipleDevice',
  KICKED_OUT_USERSIG_EXPIRED: 'userSigExpired',
  KICKED_OUT_REST_API: 'REST_API_Kick',
  NET_STATE_CONNECTED: 'connected',
  NET_STATE_CONNECTING: 'connecting',
  NET_STATE_DISCONNECTED: 'disconnected',
  /** Natter: `setAppState()` values. */
  APP_STATE_ACTIVE: 'active',
  APP_STATE_BACKGROUND: 'background',
} as const);

/** Numeric error codes: the reference SDK's client codes plus Natter's 9xxx codes. */
export const ERROR_CODE = Object.freeze({
  NO_SDKAPPID: 2000,
  NO_IDENTIFIER: 2002,
  NO_USERSIG: 2003,
  USER_NOT_LOGGED_IN: 2024,
  REPEAT_LOGIN: 2025,
  NETWORK_ERROR: 2800,
  NETWORK_TIMEOUT: 2801,
  NO_NETWORK: 2805,
  SDK_IS_NOT_READY: 2999,
  LOGIN_FAILED: 3001,
  KICKED_OUT_MULT_DEVICE: 3002,
  KICKED_OUT_MULT_ACCOUNT: 3003,
  KICKED_OUT_USERSIG_EXPIRED: 3004,
  LOGGED_OUT: 3005,
  KICKED_OUT_REST_API: 3006,
  /** Natter: an option or argument is present but invalid. */
  INVALID_ARGUMENT: 9001,
  /** Natter: the instance was destroyed; create a new one. */
  INSTANCE_DESTROYED: 9002,
  /** Natter: internal error (a bug, or the native module is missing). */
  INTERNAL: 9003,
} as const);

/** The server URL used when `proxyServer` is not given: the local dev server (`natter-server`). */
export const DEFAULT_PROXY_SERVER = 'ws://127.0.0.1:9800/ws';
