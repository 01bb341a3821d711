/** Jest: TypeScript tests in js/__tests__ through ts-jest (type-checked with tsconfig.json). */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/js/__tests__'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }] },
  moduleFileExtensions: ['ts', 'js', 'json', 'node'],
  // e2e tests wait for reconnects and kicks against real servers.
  testTimeout: 60000,
  maxWorkers: 2,
};
