// Typings of the ESM entry (index.mjs): the same API as lib/index.d.ts, with a real default export.
import type { ChatModule } from '../../lib/index.js';

declare const TencentCloudChat: ChatModule;
export default TencentCloudChat;
export { create, EVENT, TYPES, ERROR_CODE, DEFAULT_PROXY_SERVER, ChatInstance } from '../../lib/index.js';
export type * from '../../lib/index.js';
