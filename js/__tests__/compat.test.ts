/**
 * The constants the package exports are the reference SDK's, as vendored in
 * tests/vectors/compat-facts.json.
 */
import { readFileSync } from 'fs';
import { resolve } from 'path';
import { ERROR_CODE, EVENT, TYPES } from '../src/constants';

const facts = JSON.parse(readFileSync(resolve(__dirname, '..', '..', 'tests', 'vectors', 'compat-facts.json'), 'utf8'));

test('EVENT and TYPES are exactly the reference values', () => {
  expect({ ...EVENT }).toEqual(facts.events);
  expect({ ...TYPES }).toEqual(facts.types);
});

test('every client error code the package names is the reference code', () => {
  const named = Object.entries(ERROR_CODE).filter(([k]) => k in facts.clientErrorCodes);
  expect(named.length).toBeGreaterThanOrEqual(15);
  for (const [k, v] of named) expect([k, v]).toEqual([k, facts.clientErrorCodes[k]]);
});
