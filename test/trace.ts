// Small helpers for reading what a scenario did in tests: run it, pick steps
// out of its trace, check their order and observe the state between steps.
// The scenario builders themselves are in build.ts.

import { expect } from 'vitest';
import type { Property, StepEvent } from '../properties/property.js';
import { PROPERTIES } from '../properties/registry.js';
import { findPte } from '../model/kernel/pagetable.js';
import type { KernelState } from '../model/kernel/state.js';
import type { K } from '../model/kernel/step.js';
import { linux } from '../model/policies/linux.js';
import type { Policy } from '../model/policies/policy.js';
import { applyVariant, defineVariant } from '../model/policies/variant.js';
import { runScenario, type RunResult } from '../model/run/runner.js';
import type { Scenario } from '../model/run/scenario.js';
import { va } from './build.js';

/** The page most tests map: vpn 16, the first page of a PTE table (16..19), in PMD table 16..31 and PUD table 0..63. */
export const X = 0x10000;
/** The page after X, in the same PTE table. */
export const Y = 0x11000;
/** A page (vpn 32) outside X's PTE and PMD tables, for a second process or a far mapping. */
export const Q = 0x20000;

/** Run a scenario under the linux policy with the default properties. */
export const go = (sc: Scenario) => runScenario(sc, { policy: linux, properties: PROPERTIES });
/** The step ids `actor` took, in order. */
export const ids = (r: RunResult, actor: string) => r.trace.filter((e) => e.actor === actor).map((e) => e.id);
/** How many times `actor` took step `id`. */
export const count = (r: RunResult, actor: string, id: string) => ids(r, actor).filter((x) => x === id).length;
/** The trace position of the `nth` time `actor` took step `id`, or -1 if it never did. */
export const pos = (r: RunResult, actor: string, id: string, nth = 0) => r.trace.filter((e) => e.actor === actor && e.id === id)[nth]?.n ?? -1;
/** The steps exist in the trace and come in this order. */
export function expectOrder(r: RunResult, ...steps: [string, string][]) {
  const ns = steps.map(([a, id]) => pos(r, a, id));
  ns.forEach((n, i) => expect(n, `${steps[i]!.join(' ')} missing`).toBeGreaterThan(0));
  expect(ns).toEqual([...ns].sort((a, b) => a - b));
}
/** The user-access steps of `actor` (those that observed a load or store), in order. */
export const accesses = (r: RunResult, actor: string) => r.trace.filter((e) => e.actor === actor && e.obs?.kind === 'access');
/** The last user-access step of `actor`. */
export const lastAccess = (r: RunResult, actor: string) => accesses(r, actor).at(-1)!;
/** A step filter for `observe`: `actor` taking step `id`. */
export const at = (actor: string, id: string) => (e: StepEvent) => e.actor === actor && e.id === id;

/** Run under `policy` (linux by default) and record `take(s, e)` after every step `e` for which `when(e)` holds. */
export function observe<T>(sc: Scenario, when: (e: StepEvent) => boolean, take: (s: KernelState, e: StepEvent) => T, policy: Policy = linux) {
  const seen: T[] = [];
  const probe: Property = { id: 'probe', statement: 'records state', rule: 'test', check: ({ s, event }) => (when(event) && seen.push(take(s, event)), null) };
  return { r: runScenario(sc, { policy, properties: [...PROPERTIES, probe] }), seen };
}

/** Linux with each of `steps` (which normally take no step) replaced by one step of that id, so that it shows in the trace. */
export const withVisibleSteps = (name: string, description: string, ...steps: string[]): Policy =>
  applyVariant(linux, defineVariant({
    name, description,
    edit: (v) => {
      for (const id of steps) v.replace(id, function* () { yield { id }; });
    },
  }));
/** Linux with mmu_notifier_invalidate_range_start/end each taking a step. */
export const notifiersVisible = withVisibleSteps('visible-notifiers', 'notifier start/end take a step', 'mmu_notifier_invalidate_range_start', 'mmu_notifier_invalidate_range_end');

/** A copy of P0's PTE for byte address `a` (which must be mapped by a PTE). */
export const pteOf = (s: KernelState, a: number) => ({ ...findPte(s, s.mms.P0!, va(a))!.pte! });

/** Run a linux path directly as thread `self` on `cpu` of `s`; returns the step ids it took. */
export function drive(s: KernelState, self: string, cpu: number, path: string, c: unknown): string[] {
  const k: K = {
    s, self, cpu, policy: linux, notes: [],
    *run(p, cc) {
      for (const st of linux.paths[p]!) if ((yield* st.fn(k, cc)) === 'stop') break;
    },
    knob: () => undefined,
    choose: () => false,
    decide: (_p, v) => v,
    nextValue: () => 0,
    within: () => false,
    depth: () => 0,
    noteEdit: () => {},
  };
  const out: string[] = [];
  const g = k.run(path, c);
  for (let y = g.next(); !y.done; y = g.next()) out.push(y.value.id);
  return out;
}
