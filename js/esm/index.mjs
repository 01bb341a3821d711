// ESM entry on Node: `import TencentCloudChat from 'react-native-natter'` gets the module object
// itself (Node would otherwise hand an ESM importer the whole CommonJS exports object). It wraps
// the CommonJS build, so ESM and CJS importers share one module state and one native hub.
import cjs from '../../lib/index.js';

export default cjs.default;
export const { create, EVENT, TYPES, ERROR_CODE, DEFAULT_PROXY_SERVER, ChatInstance } = cjs;
