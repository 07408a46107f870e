import { describe, expect, it } from 'vitest';
import { linux } from '../model/policies/linux.js';
import { runScenario } from '../model/run/runner.js';
import { madvise, proc, anon, read, run, scenario, thread, write } from '../test/build.js';
import { entrySlices, normalizeSchedule, untilForm } from './until_form.js';
import { PROPERTIES } from '../properties/registry.js';

const X = 0x10000;
const steps = (r: { trace: { actor: string; id: string }[] }) => r.trace.map((e) => `${e.actor}:${e.id}`);

const base = scenario({
  setup: [proc('P0'), anon('P0', X, 1)],
  threads: [thread('T0', 'P0', 0, read(X), write(X), madvise(X)), thread('T1', 'P0', 1, read(X))],
});

describe('until form', () => {
  it('recovers which steps each entry ran, and marks entries that had no effect', () => {
    const sc = { ...base, schedule: [run('T0', 3), run('ipi@cpu1', 2), run('T1', 4), run('T0')] };
    const r = runScenario(sc, { policy: linux, properties: PROPERTIES });
    const slices = entrySlices(sc.schedule, r.trace);
    expect(slices[0]).toEqual({ from: 0, to: 3 });
    expect(slices[1]).toBeNull(); // no IPI pending: skipped
    expect(slices[2]).toEqual({ from: 3, to: 7 });
    expect(r.trace.slice(3, 7).every((e) => e.actor === 'T1')).toBe(true);
    expect(slices[3]!.from).toBe(7);
  });

  it('replays to the same steps as the step-count schedule it came from', () => {
    const solo = runScenario(base, { policy: linux, properties: PROPERTIES }).trace;
    const afterRead = solo.findIndex((e) => e.id === 'user_access.walk') + 1;
    const sc = { ...base, schedule: [run('T0', afterRead), run('T1', 5), run('T0')] };
    const r = runScenario(sc, { policy: linux, properties: PROPERTIES });
    const u = untilForm(sc.schedule, r.trace);
    expect(u[0]).toEqual({ actor: 'T0', until: 'user_access.walk' });
    expect(u[1]).toEqual({ actor: 'T1', until: 'load_new_mm_cr3.flush' }); // the fifth step of its context switch
    expect(steps(runScenario({ ...sc, schedule: u }, { policy: linux, properties: PROPERTIES }))).toEqual(steps(r));
  });

  it('still stops at the same step when a deletion elsewhere changes how many steps it takes', () => {
    // T2 faults X in first, so T0's write only walks; without T2 the write faults, which takes longer.
    const sc = scenario({
      setup: [proc('P0'), anon('P0', X, 1)],
      threads: [thread('T0', 'P0', 0, write(X), madvise(X)), thread('T1', 'P0', 1, read(X)), thread('T2', 'P0', 1, read(X))],
    });
    const first = runScenario({ ...sc, schedule: [run('T2'), run('T0')] }, { policy: linux, properties: PROPERTIES }).trace;
    const t0 = first.filter((e) => e.actor === 'T0');
    sc.schedule = [run('T2'), run('T0', t0.findIndex((e) => e.id === 'user_access.walk') + 1), run('T1')];
    const r = runScenario(sc, { policy: linux, properties: PROPERTIES });
    const u = untilForm(sc.schedule, r.trace);
    const without = { ...sc, threads: sc.threads.slice(0, 2) };
    const byCount = runScenario({ ...without, schedule: sc.schedule.slice(1) }, { policy: linux, properties: PROPERTIES }).trace;
    const byId = runScenario({ ...without, schedule: u.filter((e) => e.actor !== 'T2') }, { policy: linux, properties: PROPERTIES }).trace;
    const beforeT1 = (t: { actor: string; id: string }[]) => t[t.findIndex((e) => e.actor === 'T1') - 1]!.id;
    expect(beforeT1(r.trace)).toBe('user_access.walk');
    expect(beforeT1(byId)).toBe('user_access.walk');
    expect(beforeT1(byCount)).not.toBe('user_access.walk'); // stopped inside the fault
  });

  it('drops the bound of the last entry, which never matters', () => {
    expect(normalizeSchedule([run('T0', 3), { actor: 'T1', until: 'user_access.walk' }])).toEqual([run('T0', 3), run('T1')]);
  });
});
