/**
 * Where app-state and reachability changes come from: React Native's `AppState` and, when the
 * app has it, `@react-native-community/netinfo` (`lifecycle.native.ts`); nothing on Node
 * (`lifecycle.ts`). The TS layer only forwards them to `setAppState` / `setNetworkReachable`.
 */
import type { AppState } from './types';

export interface LifecycleSource {
  /** Starts delivering changes; returns the function that stops it. */
  subscribe(onAppState: (state: AppState) => void, onReachable: (reachable: boolean) => void): () => void;
}
