// The state after each step (Report.states) and the swimlanes
// (Report.lanes): what the HTML report's cursor and lanes show.

import { describe, expect, it } from 'vitest';
import { linux } from '../model/policies/linux.js';
import { runScenario } from '../model/run/runner.js';
import { PROPERTIES } from '../properties/registry.js';
import { buildCounterexample } from './counterexample.js';
import { lanesOf } from './lanes.js';
import { buildReport } from './report.js';
import { parseScenario } from './scenario_text.js';

const reportOf = (text: string) => {
  const sc = parseScenario(text, 'x.txt');
  const result = runScenario(sc, { policy: linux, properties: PROPERTIES });
  return buildReport(buildCounterexample({ policy: 'linux', variant: null, campaign: null, signature: 'x', scenario: sc, result }), 'x.json', linux);
};

describe('the state after each step', () => {
  const r = reportOf(`# mshare-check scenario v1
config pcids=1
process P0
mmap P0 0x10000 pages=1 prot=rw
thread T0 P0 cpu=0
  write 0x10000
  numa_scan
  munmap 0x10000 pages=1
`);
  const at = (id: string) => r.states[r.steps.find((s) => s.id === id)!.n]!;

  it('has the initial state and one state per step', () => {
    expect(r.states).toHaveLength(r.steps.length + 1);
    expect(r.states.map((s) => s.step)).toEqual(r.states.map((_, i) => i));
    expect(r.states[0]!.mms.find((m) => m.mm === 'P0')!.ptes).toEqual([]);
  });

  it('shows the PTE, then the TLB entry, after the write', () => {
    const st = at('user_access.walk');
    expect(st.mms.find((m) => m.mm === 'P0')!.ptes).toEqual([expect.stringMatching(/^0x10000 -> frame \d+, PTE table \d+$/)]);
    expect(st.cpus[0]!.slots[0]!.tlb).toEqual([expect.stringMatching(/^0x10000 -> frame \d+$/)]);
    expect(st.cpus[0]!.slots[0]!.loaded).toBe(true);
    expect(st.mms.find((m) => m.mm === 'P0')!.cpumask).toEqual([0]);
  });

  it('shows a PROT_NONE PTE as prot none, never as (r)', () => {
    const none = r.states.flatMap((s) => s.mms.flatMap((m) => m.ptes)).filter((p) => p.includes('prot none'));
    expect(none.length).toBeGreaterThan(0);
    expect(r.states.flatMap((s) => s.mms.flatMap((m) => m.ptes)).filter((p) => p.includes('(r)'))).toEqual([]);
  });

  it('opens a window at a call and closes it at its return, and shows the locks held', () => {
    const inv = r.steps.find((s) => s.id === 'sys_munmap')!;
    expect(inv.op).toMatch(/^munmap /);
    expect(r.states[inv.n]!.windows).toEqual([`T0: ${inv.op} (since step ${inv.n})`]);
    expect(r.states[inv.n - 1]!.windows).toEqual([]);
    expect(r.states[r.steps.find((s) => s.id === 'sys_munmap.return')!.n]!.windows).toEqual([]);
    const locked = r.steps.find((s) => s.n > inv.n && s.locks.length > 0)!;
    expect(r.states[locked.n]!.locks.some((l) => l.startsWith('mmap_lock:P0') && l.endsWith('held by T0'))).toBe(true);
  });

  it('names the mms that reach each page table', () => {
    const st = at('user_access.walk');
    expect(st.tables.length).toBeGreaterThanOrEqual(4);
    for (const t of st.tables) expect(t.sharers).toEqual(['P0']);
  });
});

describe('swimlanes', () => {
  it('gives each CPU a lane, and each hardware actor its own beside its CPU; rcu last', () => {
    const lanes = lanesOf(
      [
        { name: 'rcu', kind: 'rcu', cpu: null, proc: null },
        { name: 'sb@cpu1', kind: 'sb', cpu: 1, proc: null },
        { name: 'T1', kind: 'thread', cpu: 1, proc: 'P0' },
        { name: 'ipi@cpu0', kind: 'ipi', cpu: 0, proc: null },
        { name: 'T0', kind: 'thread', cpu: 0, proc: 'P0' },
        { name: 'T2', kind: 'thread', cpu: 0, proc: 'P1' },
        { name: 'spec@cpu1', kind: 'spec', cpu: 1, proc: null },
      ],
      3,
    );
    expect(lanes.map((l) => [l.id, l.actors])).toEqual([
      ['cpu0', ['T0', 'T2']],
      ['ipi@cpu0', ['ipi@cpu0']],
      ['cpu1', ['T1']],
      ['spec@cpu1', ['spec@cpu1']],
      ['sb@cpu1', ['sb@cpu1']],
      ['cpu2', []],
      ['rcu', ['rcu']],
    ]);
    expect(lanes[0]!.title).toBe('CPU0: T0 (P0), T2 (P1)');
    expect(lanes[4]!.title).toBe('sb@cpu1: store buffer');
  });
});
