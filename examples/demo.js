#!/usr/bin/env node
/**
 * `npm run demo`: the seed scenario through the Node addon against a natter-server it spawns
 * (port 0): create → login → SDK_READY → getters → a second web instance of the same user kicks
 * the first (multipleAccount) → the admin REST kick (REST_API_Kick) → login again → logout
 * (SDK_NOT_READY) → destroy. Prints every event. Exits non-zero when a step fails.
 *
 * Uses the built package (lib/, `npm run build`) and target/debug/natter-server (or
 * $NATTER_SERVER_BIN); UserSigs come from `natter-server usersig`.
 */
'use strict';
const { execFileSync, spawn } = require('child_process');
const path = require('path');

const root = path.resolve(__dirname, '..');
const TencentCloudChat = require(path.join(root, 'lib', 'index.js')).default;
const { EVENT, TYPES } = TencentCloudChat;

const SDK_APP_ID = 1400000001;
const ADMIN = 'administrator';
const serverBin =
  process.env.NATTER_SERVER_BIN ??
  path.join(process.env.CARGO_TARGET_DIR ? path.resolve(root, process.env.CARGO_TARGET_DIR) : path.join(root, 'target'), 'debug', 'natter-server');

const userSig = (user) => execFileSync(serverBin, ['usersig', '--user', user], { encoding: 'utf8' }).trim();

function startServer() {
  const child = spawn(serverBin, ['--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('natter-server printed no ws:// URL in 15 s')), 15000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /ws:\/\/\S+/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, wsUrl: m[0], port: Number(new URL(m[0].replace(/^ws/, 'http')).port) });
      }
    });
    child.once('exit', (code) => reject(new Error(`natter-server exited (${code}): ${out}`)));
  });
}

/** Prints each event of `chat` as `[label] name data`, and lets the script await one. */
function watch(chat, label) {
  const seen = [];
  const waiters = [];
  for (const name of Object.values(EVENT)) {
    chat.on(name, (e) => {
      console.log(`  [${label}] event ${e.name} ${JSON.stringify(e.data)}`);
      seen.push(e);
      for (const w of waiters.splice(0)) w();
    });
  }
  let cursor = 0;
  return async function next(name, timeoutMs = 10000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = seen.findIndex((e, k) => k >= cursor && e.name === name);
      if (i >= 0) {
        cursor = i + 1;
        return seen[i];
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`[${label}] no ${name} within ${timeoutMs} ms`);
      await new Promise((r) => {
        const t = setTimeout(r, left);
        waiters.push(() => (clearTimeout(t), r()));
      });
    }
  };
}

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}

async function main() {
  const server = await startServer();
  console.log(`natter-server at ${server.wsUrl}`);
  try {
    console.log('\n1. create + login');
    const chat = TencentCloudChat.create({ SDKAppID: SDK_APP_ID, proxyServer: server.wsUrl, instanceName: 'page-1' });
    const next = watch(chat, 'page-1');
    const res = await chat.login({ userID: 'alice', userSig: userSig('alice') });
    console.log(`  login resolved ${JSON.stringify(res)}`);
    await next(EVENT.SDK_READY);

    console.log('\n2. getters');
    console.log(`  isReady() = ${chat.isReady()}, getLoginUser() = ${JSON.stringify(chat.getLoginUser())}`);
    console.log(`  getServerTime() = ${chat.getServerTime()} (local ${Date.now()})`);
    check(chat.isReady() && chat.getLoginUser() === 'alice', 'ready as alice');

    console.log('\n3. a second web instance of alice logs in: the first is kicked (multipleAccount)');
    const other = TencentCloudChat.create({ SDKAppID: SDK_APP_ID, proxyServer: server.wsUrl, instanceName: 'page-2' });
    const nextOther = watch(other, 'page-2');
    await other.login({ userID: 'alice', userSig: userSig('alice') });
    await nextOther(EVENT.SDK_READY);
    const kicked = await next(EVENT.KICKED_OUT);
    check(kicked.data.type === TYPES.KICKED_OUT_MULT_ACCOUNT, 'kicked with multipleAccount');
    await next(EVENT.SDK_NOT_READY);

    console.log('\n4. the admin kicks alice over the REST API (REST_API_Kick)');
    const q = new URLSearchParams({
      sdkappid: String(SDK_APP_ID),
      identifier: ADMIN,
      usersig: userSig(ADMIN),
      random: String(Math.floor(Math.random() * 4294967295)),
      contenttype: 'json',
    });
    const rest = await fetch(`http://127.0.0.1:${server.port}/v4/im_open_login_svc/kick?${q}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ UserID: 'alice' }),
    });
    console.log(`  REST kick answered ${JSON.stringify(await rest.json())}`);
    const restKick = await nextOther(EVENT.KICKED_OUT);
    check(restKick.data.type === TYPES.KICKED_OUT_REST_API, 'kicked with REST_API_Kick');
    await nextOther(EVENT.SDK_NOT_READY);
    await other.destroy();

    console.log('\n5. page-1 logs in again, then logs out');
    const again = await chat.login({ userID: 'alice', userSig: userSig('alice') });
    console.log(`  login resolved ${JSON.stringify(again)}`);
    await next(EVENT.SDK_READY);
    const out = await chat.logout();
    console.log(`  logout resolved ${JSON.stringify(out)}`);
    check(!chat.isReady(), 'logged out');

    console.log('\n6. destroy');
    const destroyed = await chat.destroy();
    console.log(`  destroy resolved ${JSON.stringify(destroyed)}`);
    console.log('\ndemo finished');
  } finally {
    server.child.kill('SIGKILL');
  }
}

main().catch((e) => {
  console.error(`demo failed: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
