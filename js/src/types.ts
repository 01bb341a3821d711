/**
 * Public types of the TencentCloudChat-compatible session API (compat.md). They mirror the
 * reference SDK's (`@tencentcloud/chat`) session surface, with precise event payloads.
 */
import type { EVENT, TYPES } from './constants';

/** Platforms a client may report (the server limits instances per platform). */
export type Platform = 'web' | 'android' | 'ios' | 'ipad' | 'windows' | 'mac' | 'linux';

/** `TencentCloudChat.create()` options. */
export interface CreateOptions {
  /** The app's SDKAppID (a positive integer, or its decimal string). */
  SDKAppID: number | string;
  /** ws:// or wss:// URL of the Natter server's WebSocket endpoint. Default: the local dev server. */
  proxyServer?: string;
  /** Natter: another independent instance for the same SDKAppID (cached under its name). */
  instanceName?: string;
  /** Natter: the platform reported to the server (default 'web'). */
  platform?: Platform;
  /** Natter: heartbeat interval in ms (a link silent for two intervals is dead). */
  heartbeatIntervalMs?: number;
  /** Natter: deadline in ms for logout and for opening a connection. */
  requestTimeoutMs?: number;
  /** Natter: deadline in ms for a login (connect + authenticate). */
  loginTimeoutMs?: number;
  /** Natter: reconnect backoff, the first retry's ceiling in ms (doubles per attempt). */
  reconnectMinDelayMs?: number;
  /** Natter: reconnect backoff, the largest ceiling in ms. */
  reconnectMaxDelayMs?: number;
  /** Natter: PEM text of CA certificates trusted for `wss://` besides the public roots (a private CA). */
  extraRootCertsPem?: string;
  /** Natter: deadline in ms of the one ping sent on `setAppState('active')` / `setNetworkReachable(true)` (default 2000). */
  probeTimeoutMs?: number;
  /**
   * Natter: returns a fresh UserSig (e.g. from the app's backend). Called ahead of expiry (the
   * earlier of 5 min before it or 80 % of its lifetime), one call at a time; a rejection is
   * retried with jitter until the sig expires. Without it, `USER_SIG_EXPIRING` is emitted.
   */
  userSigProvider?: () => Promise<string>;
  /**
   * Natter, React Native only: feed `AppState` and (when installed) `@react-native-community/netinfo`
   * into `setAppState` / `setNetworkReachable` (default true).
   */
  autoLifecycle?: boolean;
  /** Initial log level (0 = debug … 4 = silent). */
  logLevel?: number;
  /** Accepted for compatibility with the reference SDK; unused. */
  fileUploadProxy?: string;
  /** Accepted for compatibility with the reference SDK; unused. */
  fileDownloadProxy?: string;
  /** Accepted for compatibility with the reference SDK; unused. */
  scene?: string;
}

export interface LoginOptions {
  userID: string;
  userSig: string;
}

/** What the promise APIs resolve with. */
export interface ChatResponse<T> {
  code: number;
  data: T;
}

/** `login()`'s data: `repeatLogin: true` (with `errorInfo`) when already logged in. */
export interface LoginData {
  repeatLogin: boolean;
  errorInfo?: string;
}

/** What the promise APIs reject with (and sync APIs throw): an Error with a numeric code. */
export type ChatError = Error & { code: number; data: Record<string, unknown> };

export type EventName = (typeof EVENT)[keyof typeof EVENT];
export type KickedOutType =
  | typeof TYPES.KICKED_OUT_MULT_ACCOUNT
  | typeof TYPES.KICKED_OUT_MULT_DEVICE
  | typeof TYPES.KICKED_OUT_USERSIG_EXPIRED
  | typeof TYPES.KICKED_OUT_REST_API;
export type NetState =
  | typeof TYPES.NET_STATE_CONNECTED
  | typeof TYPES.NET_STATE_CONNECTING
  | typeof TYPES.NET_STATE_DISCONNECTED;

/** Natter: why the link state changed (`NET_STATE_CHANGE` `data.reason`). */
export type NetStateReason =
  | 'login'
  | 'reconnect'
  | 'foreground'
  | 'networkBack'
  | 'loggedIn'
  | 'linkLost'
  | 'networkUnreachable'
  | 'loginFailed'
  | 'loggedOut'
  | 'kicked'
  | 'destroyed';

export type AppState = typeof TYPES.APP_STATE_ACTIVE | typeof TYPES.APP_STATE_BACKGROUND;

/** Natter: `getSessionState()`; times are Unix ms. */
export interface SessionState {
  ready: boolean;
  loginUser: string;
  netState: NetState;
  lastKick?: { type: KickedOutType; at: number };
  reconnectAttempt: number;
  /** While a reconnect attempt is being waited for. */
  nextRetryAt?: number;
  /** When the session's UserSig expires (server clock). */
  userSigExpireTime?: number;
}

/** The `data` of each event. */
export interface EventDataMap {
  sdkStateReady: Record<string, never>;
  sdkStateNotReady: Record<string, never>;
  kickedOut: { type: KickedOutType };
  /** `reason` and `retryInMs` (set on disconnected while a retry is scheduled) are Natter additions. */
  netStateChange: { state: NetState; reason?: NetStateReason; retryInMs?: number };
  error: { code: number; message: string };
  sdkDestroy: { SDKAppID: number };
  userSigExpiring: { expireTime: number };
}

/** What a handler of event `N` receives. */
export interface ChatEvent<N extends EventName = EventName> {
  name: N;
  data: EventDataMap[N];
}
