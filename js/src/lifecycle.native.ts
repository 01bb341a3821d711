/**
 * React Native: `AppState` drives `setAppState`, and `@react-native-community/netinfo` (an
 * optional peer dependency, used when the app installed it) drives `setNetworkReachable`.
 * iOS's transient `inactive` state is ignored: only `active` and `background` are inputs.
 */
import { AppState } from 'react-native';
import type { LifecycleSource } from './lifecycle-types';

/** The part of NetInfo's API used here. */
interface NetInfoState {
  isConnected: boolean | null;
  isInternetReachable?: boolean | null;
}
interface NetInfoModule {
  addEventListener(listener: (state: NetInfoState) => void): () => void;
}

function loadNetInfo(): NetInfoModule | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const m = require('@react-native-community/netinfo') as { default?: NetInfoModule } & NetInfoModule;
    return m.default ?? m;
  } catch {
    return undefined; // not installed: reachability stays the app's call
  }
}

/** Reachable unless NetInfo says so for sure (`null` means unknown, not unreachable). */
export function isReachable(state: NetInfoState): boolean {
  return state.isConnected !== false && state.isInternetReachable !== false;
}

export const lifecycle: LifecycleSource = {
  subscribe(onAppState, onReachable) {
    const app = AppState.addEventListener('change', (s) => {
      if (s === 'active' || s === 'background') onAppState(s);
    });
    const netInfo = loadNetInfo();
    let last: boolean | undefined;
    const stopNet = netInfo?.addEventListener((state) => {
      const reachable = isReachable(state);
      if (reachable !== last) {
        last = reachable;
        onReachable(reachable);
      }
    });
    return () => {
      app.remove();
      stopNet?.();
    };
  },
};
