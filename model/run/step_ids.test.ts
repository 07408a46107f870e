// The list of known step ids and choice points must cover everything the
// model yields or asks, or a valid until= or choice line would be refused.
// (Regenerate with `npx tsx bench/step_ids.ts` after adding a step.)

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fuzzedStepIds } from '../../campaigns/step_ids.js';
import { POLICIES } from '../policies/registry.js';
import { loadCounterexample } from '../../reports/counterexample.js';
import { parseScenario } from '../../reports/scenario_text.js';
import { CHOICE_POINTS, FORK_STEP_IDS, KVM_STEP_IDS, MIGRATE_CHOICE_POINTS, MIGRATE_STEP_IDS, MREMAP_STEP_IDS, MADV_FREE_STEP_IDS, STEP_IDS, SVA_STEP_IDS, KVM_CREATE_STEP_IDS, KSWAPD_STEP_IDS, GMEM_STEP_IDS, MEMSLOT_STEP_IDS, SWAP_STEP_IDS, GUP_DMA_STEP_IDS } from './step_ids.js';
import { validateScenario } from './validate.js';

const ROOT = join(import.meta.dirname, '../..');
const known = new Set([...STEP_IDS, ...KVM_STEP_IDS, ...FORK_STEP_IDS, ...MIGRATE_STEP_IDS, ...MREMAP_STEP_IDS, ...MADV_FREE_STEP_IDS, ...SVA_STEP_IDS, ...KVM_CREATE_STEP_IDS, ...SWAP_STEP_IDS, ...KSWAPD_STEP_IDS, ...GMEM_STEP_IDS, ...MEMSLOT_STEP_IDS, ...GUP_DMA_STEP_IDS]);

describe('step ids', () => {
  it('lists every id a fuzzed run of every policy yields', () => {
    const ids = fuzzedStepIds(120, 'step-ids-test');
    expect(ids.size).toBeGreaterThan(100);
    expect([...ids].filter((id) => !known.has(id))).toEqual([]);
  });

  it('lists every id of every saved counterexample', () => {
    const ids = readdirSync(join(ROOT, 'counterexamples')).flatMap((f) => loadCounterexample(join(ROOT, 'counterexamples', f)).steps.map((s) => s.id));
    expect(ids.length).toBeGreaterThan(100);
    expect(ids.filter((id) => !known.has(id))).toEqual([]);
  });

  it('refuses an until= outside the list and suggests the nearest id', () => {
    const sc = parseScenario('process P0\nmmap P0 0x10000 pages=1 prot=rw\nthread T0 P0 cpu=0\n  read 0x10000\nschedule\n  T0 until=user_access.wakl\n');
    expect(validateScenario(sc, POLICIES[0])).toEqual({ near: 'until=user_access.wakl', problem: "until=user_access.wakl names no step of linux (did you mean 'user_access.walk'?)" });
    sc.schedule[0]!.until = 'user_access.walk';
    expect(validateScenario(sc, POLICIES[0])).toBeNull();
  });
});

describe('choice points', () => {
  const sources = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((f) => (f.isDirectory() ? sources(join(dir, f.name)) : f.name.endsWith('.ts') && !f.name.endsWith('.test.ts') ? [readFileSync(join(dir, f.name), 'utf8')] : []));
  const asked = new Set(sources(join(ROOT, 'model')).flatMap((t) => [...t.matchAll(/\bchoose\('([^']+)'\)/g)].map((m) => m[1]!)));

  it('are exactly the points the model asks the schedule about', () => {
    expect([...asked].sort()).toEqual([...CHOICE_POINTS, ...MIGRATE_CHOICE_POINTS].sort());
  });
});
