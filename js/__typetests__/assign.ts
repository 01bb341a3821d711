/**
 * Natter's instance is assignable to the reference SDK's session methods (`ChatSDK` of
 * `@tencentcloud/chat`, imported here under the alias `reference-chat`). The one deliberate
 * difference: the reference types `logout()`/`destroy()` as `Promise<void>` although its runtime
 * resolves `{code, data}`; Natter types what it resolves, so those two are compared on their
 * parameters and on returning a promise.
 */
import type { ChatSDK as ReferenceChatSDK } from 'reference-chat';
import TencentCloudChat, { type ChatInstance } from '../src/index';

type ReferenceSession = Pick<
  ReferenceChatSDK,
  'login' | 'getLoginUser' | 'getServerTime' | 'isReady' | 'on' | 'off' | 'setLogLevel'
> & {
  logout: (...args: Parameters<ReferenceChatSDK['logout']>) => Promise<unknown>;
  destroy: (...args: Parameters<ReferenceChatSDK['destroy']>) => Promise<unknown>;
};

const chat: ChatInstance = TencentCloudChat.create({ SDKAppID: 1400000001 });
export const session: ReferenceSession = chat;
