// The package as another project's test suite sees it: everything comes
// from 'mshare-check' (package.json "exports", resolved by self-reference),
// and a patch's check is written as a fast-check property over the
// exported scenario arbitrary and runner. It holds on the example patch
// and fails, with a signature, on a kept mutant.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyVariant, linux, loadVariant, opKindsFor, PROPERTIES, runScenario, scenarioArb, signatureOf, type Policy, type Scenario } from 'mshare-check';
import * as api from 'mshare-check';

const scenarios = scenarioArb({ ops: opKindsFor(null), mshare: null });
const keeps = (p: Policy) => fc.property(scenarios, (sc: Scenario) => signatureOf(runScenario(sc, { policy: p, properties: PROPERTIES })) === null);
const patched = async (file: string) => applyVariant(linux, (await loadVariant(file)).spec);

describe("import ... from 'mshare-check'", () => {
  it('exports the model, the arbitraries and the runner', () => {
    for (const name of ['POLICIES', 'defineVariant', 'applyVariant', 'scenarioArb', 'rawScenarioArb', 'runScenario', 'signatureOf', 'fuzz', 'parseCheckFile', 'judge']) expect(typeof (api as Record<string, unknown>)[name], name).not.toBe('undefined');
  });

  it('a patch that breaks nothing keeps every property (fast-check, 60 runs)', async () => {
    fc.assert(keeps(await patched('patches/flush-lazy-cpus-too.ts')), { seed: 14, numRuns: 60 });
  });

  it('the same property fails on a broken patch, with the signature of its race', async () => {
    const r = fc.check(keeps(await patched('variants/free-before-flush.ts')), { seed: 14, numRuns: 100, endOnFailure: true }); // fast-check's default budget; this seed fails at run 76
    expect(r.failed).toBe(true);
    const [sc] = r.counterexample!;
    expect(signatureOf(runScenario(sc, { policy: await patched('variants/free-before-flush.ts'), properties: PROPERTIES }))).toBe('no-freed-frame-reachable|TLB|tlb_batch_pages_flush');
  });
});
