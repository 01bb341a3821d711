/**
 * Test helpers: a real `natter-server` child process per test file (port 0), UserSigs made with
 * node's zlib + crypto exactly as session.md §5 (tls-sig-api-v2), the admin REST kick, and an
 * event recorder that awaits events with timeouts (no sleeps as synchronisation).
 */
import { ChildProcess, spawn } from 'child_process';
import { createHmac } from 'crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { deflateSync } from 'zlib';
import type { ChatInstance } from '../../src/chat';

export const SDK_APP_ID = 1400000001;
export const SECRET_KEY = 'natter-dev-secret-key-not-for-production';
export const ADMIN = 'administrator';

const ROOT = resolve(__dirname, '..', '..', '..');

export function serverBinary(): string {
  const fromEnv = process.env.NATTER_SERVER_BIN;
  if (fromEnv) return fromEnv;
  const targetDir = process.env.CARGO_TARGET_DIR ?? join(ROOT, 'target');
  const bin = join(targetDir, 'debug', 'natter-server');
  if (!existsSync(bin)) throw new Error(`natter-server not built (${bin}); run cargo build -p natter-server`);
  return bin;
}

/** tls-sig-api-v2 `genUserSig`, with an injectable clock. */
export function genUserSig(
  userID: string,
  expireSeconds = 86400,
  opts: { sdkAppId?: number; key?: string; now?: number } = {},
): string {
  const sdkAppId = opts.sdkAppId ?? SDK_APP_ID;
  const key = opts.key ?? SECRET_KEY;
  const time = opts.now ?? Math.floor(Date.now() / 1000);
  const content =
    `TLS.identifier:${userID}\n` +
    `TLS.sdkappid:${sdkAppId}\n` +
    `TLS.time:${time}\n` +
    `TLS.expire:${expireSeconds}\n`;
  const sig = createHmac('sha256', key).update(content).digest('base64');
  const doc = {
    'TLS.ver': '2.0',
    'TLS.identifier': userID,
    'TLS.sdkappid': sdkAppId,
    'TLS.expire': expireSeconds,
    'TLS.time': time,
    'TLS.sig': sig,
  };
  return deflateSync(Buffer.from(JSON.stringify(doc)))
    .toString('base64')
    .replace(/\+/g, '*')
    .replace(/\//g, '-')
    .replace(/=/g, '_');
}

export interface ServerOptions {
  args?: string[];
  /** TOML config file contents (keys as server/src/cli.rs FileConfig). */
  toml?: string;
}

export class NatterServer {
  wsUrl = '';
  port = 0;
  private child: ChildProcess | undefined;
  private stderr = '';

  private constructor(private options: ServerOptions) {}

  static async start(options: ServerOptions = {}): Promise<NatterServer> {
    const s = new NatterServer(options);
    await s.spawn('127.0.0.1:0');
    return s;
  }

  get restBase(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private spawn(listen: string): Promise<void> {
    const args = ['--listen', listen, ...(this.options.args ?? [])];
    if (this.options.toml !== undefined) {
      const dir = mkdtempSync(join(tmpdir(), 'natter-test-'));
      const file = join(dir, 'server.toml');
      writeFileSync(file, this.options.toml);
      args.push('--config', file);
    }
    const child = spawn(serverBinary(), args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, RUST_LOG: process.env.NATTER_SERVER_LOG ?? 'warn' },
    });
    this.child = child;
    child.stderr?.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-8000);
    });
    return new Promise((resolveStart, rejectStart) => {
      let out = '';
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        rejectStart(new Error(`natter-server printed no ws:// URL within 15 s: ${out} ${this.stderr}`));
      }, 15000);
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /ws:\/\/[^\s]+/.exec(out);
        if (m) {
          clearTimeout(timer);
          this.wsUrl = m[0];
          this.port = Number(new URL(m[0].replace(/^ws/, 'http')).port);
          resolveStart();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        rejectStart(new Error(`natter-server exited (${code}) before printing its URL: ${out} ${this.stderr}`));
      });
    });
  }

  /** Stops the server (SIGKILL: the clients see the link die, as on a crash). */
  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((done) => {
      child.once('exit', () => done());
      child.kill(signal);
    });
  }

  /** Starts again on the same port (after `stop`), optionally with other options. Retries while the port is still held. */
  async restart(options?: ServerOptions): Promise<void> {
    if (options) this.options = options;
    let lastError: unknown;
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        await this.spawn(`127.0.0.1:${this.port}`);
        return;
      } catch (e) {
        lastError = e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    throw lastError;
  }

  /** POST to the admin REST API, authenticated as the admin. */
  async rest(path: string, body: unknown): Promise<{ ActionStatus: string; ErrorCode: number; [k: string]: unknown }> {
    const q = new URLSearchParams({
      sdkappid: String(SDK_APP_ID),
      identifier: ADMIN,
      usersig: genUserSig(ADMIN),
      random: String(Math.floor(Math.random() * 4294967295)),
      contenttype: 'json',
    });
    const res = await fetch(`${this.restBase}${path}?${q}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return (await res.json()) as { ActionStatus: string; ErrorCode: number };
  }

  kick(userID: string): ReturnType<NatterServer['rest']> {
    return this.rest('/v4/im_open_login_svc/kick', { UserID: userID });
  }
}

export interface Recorded {
  name: string;
  data: Record<string, unknown>;
  /** Was the login promise of the instance settled when this event was dispatched? (set by tests) */
  at: number;
}

const ALL_EVENTS = ['sdkStateReady', 'sdkStateNotReady', 'kickedOut', 'netStateChange', 'error', 'sdkDestroy', 'userSigExpiring'];

/** Records every event of an instance, and lets a test await the next matching one. */
export class Recorder {
  readonly events: Recorded[] = [];
  private cursor = 0;
  private waiters: Array<() => void> = [];

  constructor(readonly chat: ChatInstance) {
    for (const name of ALL_EVENTS) {
      chat.on(name, (e: { name: string; data: Record<string, unknown> }) => {
        this.events.push({ name: e.name, data: e.data, at: Date.now() });
        for (const w of this.waiters.splice(0)) w();
      });
    }
  }

  names(): string[] {
    return this.events.map((e) => e.name);
  }

  /** Awaits the next event (after those already taken) matching `name` (and `pred`). */
  async next(name: string, timeoutMs = 10000, pred: (e: Recorded) => boolean = () => true): Promise<Recorded> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (let i = this.cursor; i < this.events.length; i++) {
        const e = this.events[i] as Recorded;
        if (e.name === name && pred(e)) {
          this.cursor = i + 1;
          return e;
        }
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${name}; got [${this.describe()}]`);
      }
      await new Promise<void>((wake) => {
        const t = setTimeout(wake, left);
        this.waiters.push(() => {
          clearTimeout(t);
          wake();
        });
      });
    }
  }

  describe(): string {
    return this.events.map((e) => `${e.name}${Object.keys(e.data).length ? JSON.stringify(e.data) : ''}`).join(', ');
  }
}

/** Lets already-queued native events and timers run (a macrotask turn, repeated). Not a sync point for tests' assertions on arrival; used only to prove that *nothing more* arrives. */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((r) => setTimeout(r, 20));
}

export async function rejection(p: Promise<unknown>): Promise<{ code: number; message: string; data: unknown } & Error> {
  try {
    await p;
  } catch (e) {
    return e as { code: number; message: string; data: unknown } & Error;
  }
  throw new Error('expected a rejection, got a resolution');
}

/**
 * A TCP proxy to `port` that holds the client's first bytes for `delayMs`: a login through it is
 * in flight for at least that long (loopback logins otherwise finish in about a millisecond).
 */
export async function slowProxy(port: number, delayMs: number): Promise<{ url: string; close(): Promise<void> }> {
  const net = await import('net');
  const sockets = new Set<import('net').Socket>();
  const proxy = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.pause();
    setTimeout(() => {
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    }, delayMs);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const proxyPort = (proxy.address() as import('net').AddressInfo).port;
  return {
    url: `ws://127.0.0.1:${proxyPort}/ws`,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        proxy.close(() => r());
      }),
  };
}
