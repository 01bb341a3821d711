#!/usr/bin/env node
/**
 * natter-bench's events driver for Node (issue 10 item 5): events/s into a JS handler.
 *
 *   node bench/node/events.js URL APP_ID USERS_FILE WINDOW_MS
 *
 * The same workload as the Rust baseline in bench/src/events.rs: one hub of the Node addon
 * (bindings/node, found at $NATTER_NODE_ADDON or bindings/node/natter.node, as js/src/backend.ts
 * falls back to), one instance per `user sig` line of USERS_FILE; the handler logs an instance
 * out on sdkStateReady and in again on sdkStateNotReady. Once every instance has been ready,
 * the items reaching the handler over WINDOW_MS are counted. Prints
 * `EVENTS <items> <seconds> <ready_instances>`.
 */
'use strict';
const fs = require('fs');
const path = require('path');

const [url, appId, usersFile, windowMs] = process.argv.slice(2);
if (!windowMs) {
  console.error('usage: node bench/node/events.js URL APP_ID USERS_FILE WINDOW_MS');
  process.exit(2);
}
const addonPath = process.env.NATTER_NODE_ADDON || path.join(__dirname, '..', '..', 'bindings', 'node', 'natter.node');
if (!fs.existsSync(addonPath)) {
  console.error(`the Node addon is missing at ${addonPath} (node scripts/build-node-addon.js builds it)`);
  process.exit(1);
}
const { NatterHub } = require(addonPath);
const WARM_UP_LIMIT_MS = 60000;

const users = fs
  .readFileSync(usersFile, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((line) => line.split(' '));
const hub = new NatterHub();
hub.setLogLevel(4);
const userOf = new Map();
const firstReady = new Set();
let items = 0;
let cycling = true;
let onAllReady = () => {};

hub.setSink((item) => {
  items += 1;
  if (item.kind !== 'event' || !cycling) return;
  if (item.name === 'sdkStateReady') {
    hub.logout(item.instanceId);
    firstReady.add(item.instanceId);
    if (firstReady.size === users.length) onAllReady();
  } else if (item.name === 'sdkStateNotReady') {
    const [user, sig] = userOf.get(item.instanceId);
    hub.login(item.instanceId, user, sig);
  }
});

const ids = users.map(([user, sig]) => {
  const created = hub.create({ SDKAppID: Number(appId), proxyServer: url });
  if (!created.instanceId) throw new Error(`create failed: ${JSON.stringify(created)}`);
  userOf.set(created.instanceId, [user, sig]);
  return created.instanceId;
});

(async () => {
  const allReady = new Promise((resolve) => {
    onAllReady = resolve;
  });
  ids.forEach((id) => hub.login(id, ...userOf.get(id)));
  let limit;
  await Promise.race([allReady, new Promise((resolve) => (limit = setTimeout(resolve, WARM_UP_LIMIT_MS)))]);
  clearTimeout(limit);
  const ready = firstReady.size;
  const before = items;
  const start = process.hrtime.bigint();
  // The window is the measurement itself, not a stand-in for synchronisation.
  await new Promise((resolve) => setTimeout(resolve, Number(windowMs)));
  const counted = items - before;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  cycling = false;
  ids.forEach((id) => hub.destroy(id));
  console.log(`EVENTS ${counted} ${seconds} ${ready}`);
  process.exit(0);
})();
