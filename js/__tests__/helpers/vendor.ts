/**
 * The vendor's own web SDK (`@tencentcloud/chat`, a dev dependency from npm) as a test client:
 * each `VendorClient` is one SDK instance in its own Node child process (helpers/vendor-driver.js)
 * pointed at natter-server's vendor endpoint, driven over JSON lines, its events recorded so a
 * test awaits them with timeouts (no sleeps as synchronisation).
 */
import { ChildProcess, spawn } from 'child_process';
import { join } from 'path';
import * as readline from 'readline';
import { SDK_APP_ID } from './server';

export interface VendorEvent {
  name: string;
  data: unknown;
  at: number;
}

export interface VendorError {
  code?: number;
  message?: string;
}

/** Rejection of a driven call: the SDK's error code and message. */
export class VendorCallError extends Error {
  constructor(readonly code: number | undefined, message: string) {
    super(message);
  }
}

export class VendorClient {
  readonly events: VendorEvent[] = [];
  /** SDK-internal rejections nobody awaited (reported by the child). */
  readonly unhandled: VendorError[] = [];
  /** URLs the SDK tried to fetch over HTTP (none is answered). */
  readonly httpAttempts: string[] = [];
  private cursor = 0;
  private waiters: Array<() => void> = [];
  private pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private stderr = '';

  private constructor(private child: ChildProcess) {}

  /** Starts an SDK instance for `proxyServer` (the SDK appends `/binfo?…`: give it the bare origin). */
  static async start(proxyServer: string): Promise<VendorClient> {
    const child = spawn(process.execPath, [join(__dirname, 'vendor-driver.js'), String(SDK_APP_ID), proxyServer], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const v = new VendorClient(child);
    child.stderr?.on('data', (d: Buffer) => {
      v.stderr = (v.stderr + d.toString()).slice(-8000);
    });
    await new Promise<void>((resolveStart, rejectStart) => {
      const timer = setTimeout(() => rejectStart(new Error(`vendor SDK driver did not start: ${v.stderr}`)), 15000);
      child.once('exit', (code) => rejectStart(new Error(`vendor SDK driver exited (${code}): ${v.stderr}`)));
      readline.createInterface({ input: child.stdout! }).on('line', (line) => {
        let m: Record<string, unknown>;
        try {
          m = JSON.parse(line) as Record<string, unknown>;
        } catch {
          return; // the SDK's own console output
        }
        if (m.started) {
          clearTimeout(timer);
          resolveStart();
        } else if (typeof m.event === 'string') {
          v.events.push({ name: m.event, data: m.data, at: m.at as number });
          for (const w of v.waiters.splice(0)) w();
        } else if (m.unhandled) {
          v.unhandled.push(m.unhandled as VendorError);
        } else if (typeof m.http === 'string') {
          v.httpAttempts.push(m.http);
        } else if (typeof m.id === 'number') {
          const p = v.pending.get(m.id);
          v.pending.delete(m.id);
          const err = m.error as VendorError | undefined;
          if (m.ok) p?.resolve(m.value);
          else p?.reject(new VendorCallError(err?.code, err?.message ?? 'vendor SDK call failed'));
        }
      });
    });
    return v;
  }

  call<T = unknown>(op: string, args?: unknown): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.stdin?.write(`${JSON.stringify({ id, op, args })}\n`);
    });
  }

  names(): string[] {
    return this.events.map((e) => e.name);
  }

  /** Awaits the next event named `name` after those already taken. */
  async next(name: string, timeoutMs = 10000): Promise<VendorEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (let i = this.cursor; i < this.events.length; i++) {
        const e = this.events[i] as VendorEvent;
        if (e.name === name) {
          this.cursor = i + 1;
          return e;
        }
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${name}; got [${this.names().join(', ')}]`);
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

  /** Ends the child (destroying the SDK instance first when it is still alive). */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    await Promise.race([this.call('destroy').catch(() => undefined), new Promise((r) => setTimeout(r, 3000))]);
    await new Promise<void>((done) => {
      this.child.once('exit', () => done());
      this.child.kill('SIGKILL');
    });
  }
}
