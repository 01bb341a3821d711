/** Node.js: no app lifecycle to watch (React Native bundlers pick `lifecycle.native.ts`). */
import type { LifecycleSource } from './lifecycle-types';

export const lifecycle: LifecycleSource | undefined = undefined;
