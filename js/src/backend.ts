/**
 * Node.js backend: the napi-rs addon of `bindings/node` (crate `natter-node`), which already
 * has the NativeNatter shape. React Native bundlers pick `backend.native.ts` instead, so this
 * file and the `.node` binary never reach a mobile bundle.
 *
 * The addon is looked up, in order, at `$NATTER_NODE_ADDON`; in this machine's prebuilt platform
 * package `react-native-natter-<platform>` (napi-rs layout: the main package lists them in
 * `optionalDependencies`, npm installs the one whose os/cpu/libc match); else at a local build,
 * `bindings/node/natter.node` in this package or any parent folder (`npm run build:addon`).
 */
import type { NatterBackend, NatterItem } from './backend-types';

interface AddonHub {
  create(options: object): object;
  login(instanceId: string, userId: string, userSig: string): number;
  logout(instanceId: string): number;
  destroy(instanceId: string): number;
  isReady(instanceId: string): boolean;
  getLoginUser(instanceId: string): string;
  getServerTime(instanceId: string): number;
  setLogLevel(level: number): object;
  updateUserSig(instanceId: string, userSig: string): number;
  provideUserSig(requestId: number, userSig: string | null, error: string | null): boolean;
  setAppState(instanceId: string, state: string): object;
  setNetworkReachable(instanceId: string, reachable: boolean): object;
  getSessionState(instanceId: string): string;
  setSink(callback: (item: NatterItem) => void): void;
  instanceCount(): number;
}

interface Addon {
  NatterHub: new () => AddonHub;
}

/** The platform package suffix of this machine: linux-x64-gnu, linux-arm64-musl, darwin-arm64, win32-x64-msvc, … */
export function nodePlatform(): string {
  if (process.platform === 'linux') {
    // Node reports the glibc it runs on; musl builds (Alpine) report none.
    const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
    return `linux-${process.arch}-${report?.header?.glibcVersionRuntime ? 'gnu' : 'musl'}`;
  }
  if (process.platform === 'win32') return `win32-${process.arch}-msvc`;
  return `${process.platform}-${process.arch}`;
}

/** Where the addon is, or the platform and a list of the places searched. */
export function findAddon(): { path: string } | { platform: string; searched: string[] } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const path: typeof import('path') = require('path');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const fs: typeof import('fs') = require('fs');
  const searched: string[] = [];
  const fromEnv = process.env.NATTER_NODE_ADDON;
  if (fromEnv) {
    searched.push(fromEnv);
    if (fs.existsSync(fromEnv)) return { path: path.resolve(fromEnv) };
  }
  const platform = nodePlatform();
  const platformPackage = `react-native-natter-${platform}`;
  searched.push(`package ${platformPackage}`);
  try {
    return { path: require.resolve(platformPackage) };
  } catch {
    // Not installed (another platform, or --no-optional): fall back to a local build.
  }
  let dir = __dirname;
  for (;;) {
    const candidate = path.join(dir, 'bindings', 'node', 'natter.node');
    searched.push(candidate);
    if (fs.existsSync(candidate)) return { path: candidate };
    const parent = path.dirname(dir);
    if (parent === dir) return { platform, searched };
    dir = parent;
  }
}

let hub: AddonHub | undefined;
const handlers = new Set<(item: NatterItem) => void | Promise<void>>();

/**
 * Node exits when nothing keeps its loop alive, and the addon's item callback is weak (it never
 * keeps Node alive by itself). So one ref'd timer is held while a call is in flight (until its
 * settlement arrives, as a pending napi promise did) or an instance is logged in (until its
 * logout settles, it is destroyed or kicked out): a script that logged in keeps running and
 * receiving events like a browser tab, and exits by itself once every instance logged out.
 */
const inFlight = new Set<number>();
/** Login call id → instance, to learn which instance a successful login settlement is for. */
const logins = new Map<number, string>();
/** Logout call id → instance. */
const logouts = new Map<number, string>();
const loggedIn = new Set<string>();
let keepAlive: ReturnType<typeof setInterval> | undefined;

function holdOrRelease(): void {
  if (inFlight.size > 0 || loggedIn.size > 0) {
    keepAlive ??= setInterval(() => undefined, 1 << 30);
  } else if (keepAlive !== undefined) {
    clearInterval(keepAlive);
    keepAlive = undefined;
  }
}

function started(callId: number, kind?: Map<number, string>, instanceId?: string): number {
  inFlight.add(callId);
  if (kind && instanceId !== undefined) kind.set(callId, instanceId);
  holdOrRelease();
  return callId;
}

function track(item: NatterItem): void {
  if (item.kind === 'settled') {
    const callId = item.callId ?? -1;
    const loginOf = logins.get(callId);
    if (loginOf !== undefined && item.ok) loggedIn.add(loginOf);
    const logoutOf = logouts.get(callId);
    if (logoutOf !== undefined) loggedIn.delete(logoutOf);
    logins.delete(callId);
    logouts.delete(callId);
    inFlight.delete(callId);
  } else if (item.kind === 'event' && (item.name === 'kickedOut' || item.name === 'sdkDestroy')) {
    loggedIn.delete(item.instanceId ?? '');
  }
  holdOrRelease();
}

function loadHub(): AddonHub {
  if (hub) return hub;
  const found = findAddon();
  if (!('path' in found)) {
    throw Object.assign(
      new Error(
        `react-native-natter: no Node addon for this platform (${found.platform}): the prebuilt package ` +
          `react-native-natter-${found.platform} is not installed (prebuilt platforms are the ` +
          "optionalDependencies of react-native-natter's package.json; was it installed with --omit=optional?) " +
          `and there is no local build (searched ${found.searched.join(', ')}). ` +
          'Build it from a Natter checkout with `npm run build:addon` (needs cargo) and set NATTER_NODE_ADDON to the natter.node it writes.',
      ),
      { code: 9003 },
    );
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const addon = require(found.path) as Addon;
  const made = new addon.NatterHub();
  made.setSink((item) => {
    track(item);
    for (const h of handlers) void h(item);
  });
  hub = made;
  return made;
}

/** The Node backend (one hub per process); throws a coded error (9003) when the addon cannot be loaded. */
export function getBackend(): NatterBackend {
  const h = loadHub();
  return {
    create: (options) => h.create(options),
    login: (id, userId, userSig) => started(h.login(id, userId, userSig), logins, id),
    logout: (id) => started(h.logout(id), logouts, id),
    destroy: (id) => started(h.destroy(id), logouts, id),
    isReady: (id) => h.isReady(id),
    getLoginUser: (id) => h.getLoginUser(id),
    getServerTime: (id) => h.getServerTime(id),
    setLogLevel: (level) => h.setLogLevel(level),
    updateUserSig: (id, userSig) => started(h.updateUserSig(id, userSig)),
    provideUserSig: (requestId, ok, value) => h.provideUserSig(requestId, ok ? value : null, ok ? null : value),
    setAppState: (id, state) => h.setAppState(id, state),
    setNetworkReachable: (id, reachable) => h.setNetworkReachable(id, reachable),
    getSessionState: (id) => h.getSessionState(id),
    onNatterItem(handler) {
      handlers.add(handler);
      return { remove: () => void handlers.delete(handler) };
    },
  };
}

/** Node only: how many native instances are alive (leak checks in tests). */
export function nativeInstanceCount(): number {
  return loadHub().instanceCount();
}
