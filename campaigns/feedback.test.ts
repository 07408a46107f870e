import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { linux } from '../model/policies/linux.js';
import { runScenario } from '../model/run/runner.js';
import { validateScenario } from '../model/run/validate.js';
import { opKindsFor, rawScenarioArb, resolve } from '../properties/generate/scenario_arb.js';
import { mutateRaw } from '../properties/generate/mutate.js';
import { FeedbackCorpus, feedbackKeys } from './feedback.js';
import { fuzz } from './fuzz.js';

const arb = rawScenarioArb({ ops: opKindsFor(null), mshare: null });
const draw = (seed: number) => fc.sample(arb, { seed, numRuns: 1 })[0]!;

describe('coverage feedback', () => {
  it('a mutant resolves to a valid scenario and leaves its parent and donor as they were', () => {
    for (let i = 0; i < 80; i++) {
      const parent = draw(i);
      const donor = draw(10_000 + i);
      const before = JSON.stringify([parent, donor]);
      let n = i;
      const u = () => ((n = (n * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
      const m = mutateRaw(parent, donor, u);
      expect(JSON.stringify([parent, donor])).toBe(before);
      const sc = resolve(m);
      expect(() => validateScenario(sc, linux)).not.toThrow();
      expect(runScenario(sc, { policy: linux, properties: [] }).verdict).not.toBe('model-error');
    }
  });

  it('keys name the counters a step advanced and the preemptions between step ids', () => {
    const r = runScenario(resolve(draw(3)), { policy: linux, properties: [], coverageKeys: true });
    const keys = feedbackKeys(r);
    const switches = r.trace.filter((e, i) => i > 0 && r.trace[i - 1]!.actor !== e.actor).length;
    expect(keys.filter((k) => k.includes('>')).length).toBe(switches);
    for (const k of r.coverageKeys!) expect(k).toMatch(/^[a-z_]+@[\w.]+$/);
    expect(runScenario(resolve(draw(3)), { policy: linux, properties: [] }).coverageKeys).toBeUndefined();
  });

  it('a round keeps what its runs reached first in run-index order, whatever order they were offered in', () => {
    const runs = [0, 1, 2, 3].map((i) => ({ i, raw: draw(i), keys: i === 2 ? ['a', 'b'] : ['a'] }));
    const inOrder = new FeedbackCorpus();
    const reversed = new FeedbackCorpus();
    for (const r of runs) inOrder.offer(r.i, r.raw, r.keys);
    for (const r of [...runs].reverse()) reversed.offer(r.i, r.raw, r.keys);
    expect(inOrder.size).toBe(0); // nothing is visible before the round ends
    inOrder.endRound();
    reversed.endRound();
    expect(inOrder.size).toBe(2); // run 0 ('a') and run 2 ('b')
    for (const seed of [1, 2, 3, 4, 5, 6]) expect(inOrder.scenarioFor(seed, draw(99))).toEqual(reversed.scenarioFor(seed, draw(99)));
  });

  it('mutates about half of the runs once something is kept, and none before', () => {
    const c = new FeedbackCorpus();
    const fresh = draw(7);
    expect(c.scenarioFor(1, fresh)).toBe(fresh);
    c.offer(0, draw(8), ['k']);
    c.endRound();
    const mutated = Array.from({ length: 200 }, (_, s) => c.scenarioFor(s, fresh) !== fresh).filter(Boolean).length;
    expect(mutated).toBeGreaterThan(60);
    expect(mutated).toBeLessThan(140);
  });

  it('a campaign with feedback differs from one without, and each is the same twice', () => {
    const go = (feedback: boolean) => fuzz({ policy: linux, seed: 'fb', runs: 300, feedback, properties: [] });
    const a = go(true);
    expect(go(true)).toEqual(a);
    expect(go(false).steps).not.toBe(a.steps);
  });
});
