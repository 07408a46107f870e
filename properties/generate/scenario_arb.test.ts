// The generator's mshare 2026 operations (model/kernel/paths/mshare_2026.ts):
// offered only where the design has the system calls, and every generated
// scenario is valid (each mshare_create makes a fresh region, and every
// other call names one that exists).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { policyByName } from '../../model/policies/registry.js';
import { validateScenario } from '../../model/run/validate.js';
import { opKindsFor, scenarioArb } from './scenario_arb.js';

const SYSCALLS = ['mshare_create', 'ftruncate', 'mshare_attach', 'mshare_advise', 'mshare_protect', 'close'];

describe('scenario_arb: mshare 2026 operations', () => {
  it('are offered to mshare-2026 only, which gets no msharefs attach or MSHAREFS_UNMAP', () => {
    const m2026 = opKindsFor(policyByName('mshare-2026')!.mshare);
    for (const k of SYSCALLS) expect(m2026).toContain(k);
    expect(m2026).not.toContain('attach');
    expect(m2026).not.toContain('mshare_unmap');
    expect(m2026).toContain('mshare_map');
    for (const p of ['mshare-v3', 'mshare-rfc-v3', 'linux']) {
      const kinds = opKindsFor(policyByName(p)!.mshare);
      for (const k of SYSCALLS) expect(kinds, p).not.toContain(k);
    }
    expect(opKindsFor(policyByName('mshare-v3')!.mshare)).toContain('attach');
  });

  it('generates valid scenarios whose creates make fresh regions N0, N1, ...', () => {
    const p = policyByName('mshare-2026')!;
    const scs = fc.sample(scenarioArb({ ops: opKindsFor(p.mshare), mshare: p.mshare }), { seed: 2026, numRuns: 300 });
    for (const sc of scs) expect(validateScenario(sc, p)).toBeNull();
    const creates = scs.flatMap((sc) => sc.threads.flatMap((t) => t.ops.filter((o) => o.kind === 'mshare_create')));
    expect(creates.length).toBeGreaterThan(0);
    for (const sc of scs) {
      const names = sc.threads.flatMap((t) => t.ops.flatMap((o) => (o.kind === 'mshare_create' ? [o.file] : [])));
      expect(names).toEqual(names.map((_, i) => `N${i}`));
    }
    const kinds = new Set(scs.flatMap((sc) => sc.threads.flatMap((t) => t.ops.map((o) => o.kind))));
    for (const k of SYSCALLS) expect(kinds).toContain(k);
  });
});
