// The registry (STYLE.md rule 5): stable ids in a fixed order, each with a
// one-line statement and the kernel rule it comes from. The order is the
// order of checking, so it decides which finding a step reports when two
// properties break at once, and with it the signatures of saved
// counterexamples.

import { describe, expect, it } from 'vitest';
import { PROPERTIES, propertyById, propertyIds } from './registry.js';

describe('the property registry', () => {
  it('lists the SPEC 5.3 properties the model checks, in checking order', () => {
    expect(propertyIds).toEqual([
      'no-freed-frame-reachable',
      'no-freed-table-reachable',
      'unmap-complete',
      'protect-complete',
      'read-value',
      'share-count',
      'lock-discipline',
      'no-deadlock',
      'no-stale-psc-after-unlink',
      'shared-table-flush',
      'secondary-subset',
      'no-spte-in-window',
      'notifier-balance',
      'progress',
    ]);
  });

  it('gives every property a one-line statement and the rule it comes from', () => {
    for (const p of PROPERTIES) {
      expect(p.statement, p.id).toMatch(/^[a-z][^\n]{20,}$/);
      expect(p.rule, p.id).toMatch(/^[^\n]{10,}$/);
    }
  });

  it('finds a property by id, and nothing for an unknown id', () => {
    for (const p of PROPERTIES) expect(propertyById(p.id)).toBe(p);
    expect(propertyById('no-such-property')).toBeUndefined();
  });
});
