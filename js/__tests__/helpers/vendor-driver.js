/**
 * Child process that runs one instance of the vendor's web SDK (`@tencentcloud/chat` from npm) in
 * Node and obeys JSON-line commands on stdin (see helpers/vendor.ts). A process of its own per
 * instance because the SDK caches one instance per SDKAppID and keeps module-level state, and
 * because its internal promises that reject unobserved (after login it asks for profiles,
 * conversations, groups…, which natter-server refuses with 60009) would fail a Jest test: in a
 * browser they only log, here they are reported to the parent instead.
 *
 * Node has no WebSocket/XMLHttpRequest: `ws` provides the first; the second is an offline shim
 * (the SDK's HTTP uses are diagnostics and its error-message table, which it skips with
 * `proxyServer`), every request failing at once and reported.
 */
'use strict';
const readline = require('readline');
const WebSocket = require('ws');

function send(msg) {
  process.stdout.write(`${JSON.stringify(msg)}\n`);
}

// A browser WebSocket never throws from an 'error' nobody listens to; `ws` (an EventEmitter)
// would, e.g. when the SDK closes a socket that is still connecting.
class BrowserLikeWebSocket extends WebSocket {
  constructor(...args) {
    super(...args);
    this.on('error', () => {});
  }
}

class OfflineXMLHttpRequest {
  constructor() {
    this.readyState = 0;
    this.status = 0;
    this.responseText = '';
    this.onreadystatechange = null;
    this.onerror = null;
    this.url = '';
  }
  open(_method, url) {
    this.url = url;
  }
  setRequestHeader() {}
  abort() {}
  send() {
    send({ http: this.url });
    setImmediate(() => {
      this.readyState = 4;
      if (this.onreadystatechange) this.onreadystatechange();
    });
  }
}

globalThis.WebSocket = BrowserLikeWebSocket;
globalThis.XMLHttpRequest = OfflineXMLHttpRequest;
process.on('unhandledRejection', (e) => send({ unhandled: { code: e && e.code, message: e && e.message } }));

const TencentCloudChat = require('@tencentcloud/chat');
const [sdkAppId, proxyServer] = process.argv.slice(2);
const chat = TencentCloudChat.create({ SDKAppID: Number(sdkAppId), proxyServer });
chat.setLogLevel(Number(process.env.VENDOR_SDK_LOG_LEVEL || 4));
for (const name of ['sdkStateReady', 'sdkStateNotReady', 'kickedOut', 'netStateChange', 'sdkDestroy', 'error']) {
  chat.on(name, (e) => send({ event: name, data: e && e.data, at: Date.now() }));
}

const ops = {
  login: (a) => chat.login(a),
  logout: () => chat.logout(),
  destroy: () => chat.destroy(),
  isReady: () => chat.isReady(),
  // Read together so the parent can compare with its own clock (same machine).
  serverTime: () => ({ sdk: Number(chat.getServerTime()), local: Date.now() }),
  getUserProfile: (a) => chat.getUserProfile(a),
};

readline.createInterface({ input: process.stdin }).on('line', async (line) => {
  const { id, op, args } = JSON.parse(line);
  try {
    const value = await ops[op](args);
    send({ id, ok: true, value: value === undefined ? null : value });
  } catch (e) {
    send({ id, ok: false, error: { code: e && e.code, message: e && e.message } });
  }
});
send({ started: true });
