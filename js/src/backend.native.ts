/**
 * React Native backend: the "Natter" TurboModule (android/ Kotlin, ios/ Swift). Metro resolves
 * `./backend` to this file on Android and iOS.
 */
import type { NatterBackend } from './backend-types';
import NativeNatter from './NativeNatter';

export function getBackend(): NatterBackend {
  if (!NativeNatter) {
    throw Object.assign(
      new Error(
        "react-native-natter: the native module 'Natter' is not linked. Rebuild the app after " +
          'installing the package (New Architecture required: React Native >= 0.76).',
      ),
      { code: 9003 },
    );
  }
  const backend: NatterBackend = NativeNatter; // compile-time check: the Spec fits the contract
  return backend;
}

export function nativeInstanceCount(): number {
  return -1;
}
