/**
 * Node.js backend: the napi-rs addon of `bindings/node` (crate `natter-node`), wrapped into the
 * NativeNatter contract. React Native bundlers pick `backend.native.ts` instead, so this file and
 * the `.node` binary never reach a mobile bundle.
 *
 * The addon is looked up at `$NATTER_NODE_ADDON`, else at `bindings/node/natter.node` in this
 * package or any parent folder of this file (`npm run build:addon` builds it there).
 */
import type { NatterBackend, NatterCreateOptions, NatterEvent, NatterLoginResult } from './backend-types';

type Outcome<T> = { value: T; error?: undefined } | { error: { code: number; message: string }; value?: undefined };

interface Addon {
  createInstance(options: NatterCreateOptions): { instanceId: string } | { error: { code: number; message: string } };
  login(instanceId: string, userId: string, userSig: string): Promise<Outcome<NatterLoginResult>>;
  logout(instanceId: string): Promise<Outcome<null>>;
  destroy(instanceId: string): Promise<Outcome<null>>;
  isReady(instanceId: string): boolean;
  getLoginUser(instanceId: string): string;
  getServerTime(instanceId: string): number;
  setLogLevel(level: number): { error: { code: number; message: string } } | undefined | null;
  subscribe(callback: (event: NatterEvent) => void): void;
  instanceCount(): number;
}

/** Where the addon is, or a list of the places searched. */
export function findAddon(): { path: string } | { searched: string[] } {
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
  let dir = __dirname;
  for (;;) {
    const candidate = path.join(dir, 'bindings', 'node', 'natter.node');
    searched.push(candidate);
    if (fs.existsSync(candidate)) return { path: candidate };
    const parent = path.dirname(dir);
    if (parent === dir) return { searched };
    dir = parent;
  }
}

function codedError(e: { code: number; message: string }): Error & { code: number } {
  return Object.assign(new Error(e.message), { code: e.code });
}

function unwrap<T>(o: Outcome<T>): T {
  if (o.error) throw codedError(o.error);
  return o.value as T;
}

let addon: Addon | undefined;
const handlers = new Set<(event: NatterEvent) => void | Promise<void>>();

export function loadAddon(): Addon {
  if (addon) return addon;
  const found = findAddon();
  if (!('path' in found)) {
    throw codedError({
      code: 9003,
      message:
        'react-native-natter: the Node addon natter.node was not found (searched ' +
        found.searched.join(', ') +
        '). Build it with `npm run build:addon` (needs cargo) or set NATTER_NODE_ADDON.',
    });
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const loaded = require(found.path) as Addon;
  loaded.subscribe((event) => {
    for (const h of handlers) {
      try {
        void h(event);
      } catch (err) {
        console.error('[natter] event handler failed', err);
      }
    }
  });
  addon = loaded;
  return loaded;
}

/** The Node backend; throws a coded error (9003) when the addon cannot be loaded. */
export function getBackend(): NatterBackend {
  const a = loadAddon();
  return {
    createInstance(options) {
      const r = a.createInstance(options);
      if ('error' in r) throw codedError(r.error);
      return r.instanceId;
    },
    login: async (id, userId, userSig) => unwrap(await a.login(id, userId, userSig)),
    logout: async (id) => void unwrap(await a.logout(id)),
    destroy: async (id) => void unwrap(await a.destroy(id)),
    isReady: (id) => a.isReady(id),
    getLoginUser: (id) => a.getLoginUser(id),
    getServerTime: (id) => a.getServerTime(id),
    setLogLevel(level) {
      const r = a.setLogLevel(level);
      if (r && r.error) throw codedError(r.error);
    },
    onNatterEvent(handler) {
      handlers.add(handler);
      return { remove: () => void handlers.delete(handler) };
    },
  };
}

/** Node only: how many native instances are alive (leak checks in tests). */
export function nativeInstanceCount(): number {
  return loadAddon().instanceCount();
}
