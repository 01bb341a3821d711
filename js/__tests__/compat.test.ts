/**
 * The constants the package exports are the reference SDK's, as vendored in
 * tests/vectors/compat-facts.json.
 */
import { readFileSync } from 'fs';
import { resolve } from 'path';
import { ERROR_CODE, EVENT, TYPES } from '../src/constants';

const facts = JSON.parse(readFileSync(resolve(__dirname, '..', '..', 'tests', 'vectors', 'compat-facts.json'), 'utf8'));

/** Natter's additions (issue 11), the only keys besides the reference's. */
const NATTER_EVENTS = { USER_SIG_EXPIRING: 'userSigExpiring' };
const NATTER_TYPES = { APP_STATE_ACTIVE: 'active', APP_STATE_BACKGROUND: 'background' };

test('EVENT and TYPES are exactly the reference values, plus the documented Natter additions', () => {
  expect({ ...EVENT }).toEqual({ ...facts.events, ...NATTER_EVENTS });
  expect({ ...TYPES }).toEqual({ ...facts.types, ...NATTER_TYPES });
  // An addition never shadows or reuses a reference value.
  for (const v of Object.values(NATTER_EVENTS)) expect(Object.values(facts.events)).not.toContain(v);
  for (const k of Object.keys(NATTER_TYPES)) expect(k in facts.types).toBe(false);
});

test('every client error code the package names is the reference code', () => {
  const named = Object.entries(ERROR_CODE).filter(([k]) => k in facts.clientErrorCodes);
  expect(named.length).toBeGreaterThanOrEqual(15);
  for (const [k, v] of named) expect([k, v]).toEqual([k, facts.clientErrorCodes[k]]);
});
