/**
 * react-native-natter: the Tencent Cloud Chat web SDK's session API (`TencentCloudChat.create`,
 * `chat.login`, events) over the Natter core — on React Native through the "Natter" TurboModule,
 * on Node.js through the napi addon (`./backend` resolves to `backend.native.ts` under Metro).
 *
 *   import TencentCloudChat from 'react-native-natter';
 *   const chat = TencentCloudChat.create({ SDKAppID, proxyServer: 'wss://chat.example.com/ws' });
 *   chat.on(TencentCloudChat.EVENT.SDK_READY, () => { ... });
 *   await chat.login({ userID, userSig });
 */
import { getBackend } from './backend';
import { createChatModule } from './chat';
import { lifecycle } from './lifecycle';

const TencentCloudChat = createChatModule(getBackend, lifecycle);

export default TencentCloudChat;
/** `require('react-native-natter').create(...)` in CommonJS, next to `.default.create(...)`. */
export const create = TencentCloudChat.create;
export { EVENT, TYPES, ERROR_CODE, DEFAULT_PROXY_SERVER } from './constants';
export { ChatInstance } from './chat';
export type { ChatSDK, ChatModule } from './chat';
export type * from './types';
