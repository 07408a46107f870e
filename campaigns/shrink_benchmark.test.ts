// Findings of real campaigns on every kept mutant shrink to their
// breadth-first minimum. The issue asks for 95 seeds in 100; this pins a
// sample of two seeds a mutant, chosen among the first ten for a short
// campaign, so `npm test` stays fast (re-chosen for model 0.6.0's
// generator where the old ones became slow). pcid-no-gen-check left the
// sample with 0.6.0: one seed of ten finds it within 1500 runs (shrink-7,
// run 342) and the breadth-first minimum of that finding takes 109 s here,
// long enough to stall the test worker; npm run bench still measures it. `benchShrink` over 100 seeds is
// the benchmark's.

import { describe, expect, it } from 'vitest';
import { linux } from '../model/policies/linux.js';
import { applyVariant } from '../model/policies/variant.js';
import { runScenario } from '../model/run/runner.js';
import { fuzz } from './fuzz.js';
import { signatureOf } from '../properties/signature.js';
import freeBeforeFlush from '../variants/free-before-flush.js';
import noIpi from '../variants/no-ipi.js';
import noNestedFlush from '../variants/no-nested-flush.js';
import skipLazy from '../variants/skip-lazy-on-table-free.js';
import firstStrideOnly from '../variants/first-stride-only.js';
import unmapShiftHighest from '../variants/unmap-shift-highest.js';
import preFea4e317f9e7 from '../variants/pre-fea4e317f9e7.js';
import ptReclaimNoRcu from '../variants/pt-reclaim-no-rcu.js';
import munmapNoVmaStartWrite from '../variants/munmap-no-vma-start-write.js';
import mprotectNoVmaStartWrite from '../variants/mprotect-no-vma-start-write.js';
import { benchShrink } from './shrink_benchmark.js';
import { PROPERTIES } from '../properties/registry.js';

const SAMPLE = [
  { spec: freeBeforeFlush, seeds: ['shrink-1', 'shrink-9'] },
  { spec: noIpi, seeds: ['shrink-3', 'shrink-9'] },
  { spec: noNestedFlush, seeds: ['shrink-2', 'shrink-8'] },
  { spec: skipLazy, seeds: ['shrink-4', 'shrink-7'] },
  // model 0.5.0's kept mutants that plain fuzzing finds (issue 9)
  { spec: firstStrideOnly, seeds: ['shrink-0', 'shrink-1'] },
  { spec: unmapShiftHighest, seeds: ['shrink-0', 'shrink-1'] },
  { spec: preFea4e317f9e7, seeds: ['shrink-0', 'shrink-1'] },
  { spec: ptReclaimNoRcu, seeds: ['shrink-0', 'shrink-1'] },
  { spec: munmapNoVmaStartWrite, seeds: ['shrink-2', 'shrink-4'] },
  { spec: mprotectNoVmaStartWrite, seeds: ['shrink-8', 'shrink-9'] },
];

describe('fuzz findings of the kept mutants shrink to their breadth-first minimum', () => {
  for (const { spec, seeds } of SAMPLE) {
    it(spec.name, () => {
      const policy = applyVariant(linux, spec);
      const b = benchShrink({ policy, seeds, runs: 5000, smallOps: 7 });
      expect(b.notFound).toEqual([]);
      expect(b.cases.map((c) => c.seed)).toEqual(seeds); // every seed found and judged, so the loop below checks something
      for (const c of b.cases) expect({ seed: c.seed, shrunk: c.shrunk, reached: c.reached }).toEqual({ seed: c.seed, shrunk: c.minimum, reached: true });
    });
  }

  it('fuzz hands back the shrunk scenario, its run and the number of shrink steps', () => {
    const policy = applyVariant(linux, freeBeforeFlush);
    const f = fuzz({ policy, seed: 'shrink-1', runs: 100 }).finding!;
    expect(signatureOf(f.result)).toBe(f.signature);
    expect(runScenario(f.scenario, { policy, properties: PROPERTIES }).trace).toEqual(f.result.trace);
    expect(f.shrinks).toBeGreaterThan(0);
    expect(f.scenario.threads.flatMap((t) => t.ops).length).toBeLessThan(f.original.threads.flatMap((t) => t.ops).length);
  });
});
