import { describe, expect, it } from 'vitest';
import { linux } from '../model/policies/linux.js';
import { applyVariant } from '../model/policies/variant.js';
import { runScenario } from '../model/run/runner.js';
import type { Scenario, ScheduleEntry } from '../model/run/scenario.js';
import { signatureOf } from '../properties/signature.js';
import { anon, madvise, proc, read, run, scenario, thread, until, write } from '../test/build.js';
import noIpi from '../variants/no-ipi.js';
import noNestedFlush from '../variants/no-nested-flush.js';
import { Oracle } from './oracle.js';
import { actorsOf, searchSchedule } from './schedule_search.js';
import { PROPERTIES } from '../properties/registry.js';

const X = 0x10000;

// B3 (commit 99baac21e458): T1's madvise clears the PTE while T0's madvise
// finds nothing to flush and returns with CPU0's entry still cached.
const nested = scenario({
  setup: [proc('P0'), anon('P0', X, 1)],
  threads: [thread('T0', 'P0', 0, write(X), madvise(X)), thread('T1', 'P0', 1, madvise(X))],
  schedule: [until('T0', 'user_access.walk'), until('T1', 'zap_pte_range.clear'), run('T0'), run('T1')],
});
const noNested = applyVariant(linux, noNestedFlush);
const nestedSig = signatureOf(runScenario(nested, { policy: noNested, properties: PROPERTIES }))!;

/** Every schedule of at most two entries, as plain step counts: the search must agree with this. */
function bruteForce(sc: Scenario, policy = noNested, sig = nestedSig) {
  const longest = runScenario({ ...sc, schedule: [] }, { policy, properties: PROPERTIES }).steps + 10;
  const actors = actorsOf(sc);
  const schedules: ScheduleEntry[][] = [[], ...actors.map((a) => [run(a)])];
  for (const a of actors) for (let p = 1; p <= longest; p++) for (const c of actors) if (c !== a) schedules.push([run(a, p), run(c)]);
  const hits = schedules.map((s) => ({ s, r: runScenario({ ...sc, schedule: s }, { policy, properties: PROPERTIES }) })).filter((x) => signatureOf(x.r) === sig);
  // the last entry's bound never matters, so [A p] counts as the one entry [A]
  const size = (x: (typeof hits)[number]) => [x.s.length, x.r.steps] as const;
  hits.sort((x, y) => size(x)[0] - size(y)[0] || size(x)[1] - size(y)[1]);
  return hits[0] ? size(hits[0]) : null;
}

describe('schedule search', () => {
  it('finds the race of a hand-written four-entry schedule within two entries', () => {
    expect(nestedSig).toBe('unmap-complete|TLB|sys_madvise');
    const f = searchSchedule({ ...nested, schedule: [] }, new Oracle(noNested, nestedSig));
    expect(f).not.toBeNull();
    expect(f!.scenario.schedule.length).toBeLessThanOrEqual(2);
    expect(signatureOf(runScenario(f!.scenario, { policy: noNested, properties: PROPERTIES }))).toBe(nestedSig);
  });

  it('agrees with brute force over every schedule of two entries: fewest entries, then fewest steps', () => {
    const f = searchSchedule({ ...nested, schedule: [] }, new Oracle(noNested, nestedSig), { best: true });
    expect(bruteForce(nested)).toEqual([f!.scenario.schedule.length, f!.result.steps]);
  });

  it('says no when no schedule within the bound reproduces, and stays within its run budget', () => {
    const oracle = new Oracle(linux, nestedSig);
    expect(searchSchedule(nested, oracle, { maxRuns: 5000 })).toBeNull();
    expect(bruteForce(nested, linux)).toBeNull();
    const capped = new Oracle(linux, nestedSig);
    expect(searchSchedule(nested, capped, { maxRuns: 50 })).toBeNull();
    expect(capped.runs).toBeLessThanOrEqual(51);
  });

  it('tries the scenario own schedule and the hints before searching', () => {
    const oracle = new Oracle(noNested, nestedSig);
    const f = searchSchedule(nested, oracle);
    expect(f!.scenario.schedule).toEqual(nested.schedule);
    expect(oracle.runs).toBe(2); // a probe with the target property alone, then the full run
  });

  it('prefers no schedule at all when canonical order already races', () => {
    const sc = scenario({
      setup: [proc('P0'), anon('P0', X, 1)],
      threads: [thread('T1', 'P0', 1, read(X)), thread('T0', 'P0', 0, madvise(X))],
    });
    const policy = applyVariant(linux, noIpi);
    const sig = signatureOf(runScenario(sc, { policy, properties: PROPERTIES }))!;
    expect(sig).not.toBeNull();
    const f = searchSchedule({ ...sc, schedule: [run('T0', 3), run('T1')] }, new Oracle(policy, sig), { best: true });
    expect(f!.scenario.schedule).toEqual([]);
  });

  it('is deterministic', () => {
    const a = searchSchedule({ ...nested, schedule: [] }, new Oracle(noNested, nestedSig), { best: true });
    const b = searchSchedule({ ...nested, schedule: [] }, new Oracle(noNested, nestedSig), { best: true });
    expect(a!.scenario).toEqual(b!.scenario);
  });
});
