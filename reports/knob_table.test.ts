// Each mshare policy page carries the knob table generated from its
// knobSources, so a citation in the docs is the one the verdicts use.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MSHARE_POLICIES } from '../model/policies/mshare.js';
import { knobTable } from './knob_table.js';

describe('knob_table.ts', () => {
  it('renders one row per knob, with unknown and guess marked', () => {
    const t = knobTable(MSHARE_POLICIES.find((p) => p.name === 'mshare-rfc-v3')!);
    expect(t.split('\n')).toHaveLength(15);
    expect(t).toContain('| NUMA scanning of a window (`numa`) | `allowed` | **guess**: ');
    expect(t).toContain('| MADV_DONTNEED through a window (`madvise`) | `early-return` | patch: RFC PATCH v3 8/10');
  });

  for (const p of MSHARE_POLICIES) {
    it(`docs/policies/${p.name}.md holds its table`, () => {
      expect(readFileSync(`docs/policies/${p.name}.md`, 'utf8')).toContain(knobTable(p));
    });
  }
});
