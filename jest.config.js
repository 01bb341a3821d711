/** Jest: TypeScript tests in js/__tests__ through ts-jest (type-checked with tsconfig.json). */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/js/__tests__'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }] },
  // The package's own names, as an app's Jest resolves them (jest-mock.test.ts).
  moduleNameMapper: {
    '^react-native-natter$': '<rootDir>/js/src/index.ts',
    '^react-native-natter/jest$': '<rootDir>/js/src/mock.ts',
  },
  moduleFileExtensions: ['ts', 'js', 'json', 'node'],
  // e2e tests wait for reconnects and kicks against real servers.
  testTimeout: 60000,
  maxWorkers: 2,
};
