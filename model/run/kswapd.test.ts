// kswapd (Scenario.kswapd, actors.ts kswapdActor): a kernel thread with no
// mm, switched in by context_switch() -> enter_lazy_tlb(), reclaiming
// through the same paths/reclaim.ts steps as direct reclaim.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { linux } from '../policies/linux.js';
import { applyVariant } from '../policies/variant.js';
import { runScenario } from './runner.js';
import { validateScenario } from './validate.js';
import { parseScenario, printScenario, ScenarioParseError } from '../../reports/scenario_text.js';
import { checkSchema } from '../../reports/schema.js';
import { SCENARIO_SCHEMA } from '../../reports/scenario_schema.js';
import { PROPERTIES } from '../../properties/registry.js';
import { OP_KINDS, opKindsFor, rawScenarioArb, resolve, type OpKind } from '../../properties/generate/scenario_arb.js';
import { canonicalNames } from '../../shrinkers/canonical.js';
import { candidates } from '../../shrinkers/deletions.js';
import { scenarioFile as load } from '../../test/build.js';
import reclaimFreeBeforeBatchFlush from '../../variants/reclaim-free-before-batch-flush.js';
import tlbbatchNoTlbGen from '../../variants/tlbbatch-no-tlb-gen.js';
import pre3ea277194daa from '../../variants/pre-3ea277194daa.js';

const run = (sc: ReturnType<typeof load>, policy = linux) => runScenario(sc, { policy, properties: PROPERTIES });

const BASE = `config cpus=2
process P0
file F pages=1
mmap P0 0x10000 pages=1 prot=rw file=F
thread T0 P0 cpu=0
  read 0x10000
`;

describe('kswapd: background reclaim in a kernel thread', () => {
  it('makes its CPU lazy in the user mm it finds loaded, reclaims in the batched-flush window, and the user thread catches up by tlb_gen', () => {
    const r = run(load('kswapd-batched-flush-window.txt'));
    expect(r.violation).toBeNull();
    expect(r.verdict).toBe('pass');
    const k = r.trace.filter((e) => e.actor === 'K').map((e) => e.id);
    // context_switch() to a kernel thread: enter_lazy_tlb() in place of switch_mm_irqs_off()
    expect(k.slice(0, 3)).toEqual(['context_switch.local_irq_disable', 'context_switch.enter_lazy_tlb', 'finish_task_switch.local_irq_enable']);
    expect(k).not.toContain('switch_mm_irqs_off.loaded_mm_switching');
    expect(k.indexOf('try_to_unmap_flush.done')).toBeLessThan(k.indexOf('free_unref_folios'));
    expect(k.at(-1)).toBe('kswapd_try_to_sleep');
    expect(r.coverage.kswapd_reclaim_on_lazy_mm).toBe(1);
    expect(r.coverage.kswapd_batch_flush_lazy_cpu).toBe(1);
    expect(r.coverage.reclaim_batched_flush_window).toBeGreaterThanOrEqual(1); // T1's stale read: allowed
    // the batch flush IPIs CPU1 only: kswapd's own CPU0 is lazy (should_flush_tlb())
    expect(r.trace.some((e) => e.actor === 'ipi@cpu1' && e.id === 'flush_tlb_func.flush_tlb_local')).toBe(true);
    expect(r.trace.some((e) => e.actor === 'ipi@cpu0')).toBe(false);
    expect(r.trace.some((e) => e.cpu === 0 && e.id === 'flush_tlb_func.flush_tlb_local')).toBe(false);
    // T0, switched back in, leaves lazy mode as switch_mm_irqs_off() does: same mm, tlb_gen compared
    const t0 = r.trace.filter((e) => e.actor === 'T0').map((e) => e.id);
    expect(t0).toContain('switch_mm_irqs_off.lazy_catch_up');
    expect(r.coverage.lazy_return_catch_up).toBe(1);
    expect(r.state.cpus[0]!.isLazy).toBe(false);
    expect(r.state.tasks.K!.mm).toBeNull();
  });

  it('a flush of an mm only its own lazy CPU had loaded switches that CPU to init_mm (flush_tlb_func)', () => {
    const r = run(load('kswapd-lazy-cpu-to-init-mm.txt'));
    expect(r.verdict).toBe('pass');
    expect(r.coverage.kswapd_lazy_cpu_to_init_mm).toBe(1);
    expect(r.coverage.reclaim_deferred_flush).toBe(0); // arch_tlbbatch_should_defer(): no other CPU
    const t0 = r.trace.filter((e) => e.actor === 'T0').map((e) => e.id);
    expect(t0).toContain('switch_mm_irqs_off.loaded_mm_switching'); // a whole switch: loaded_mm was init_mm
    expect(r.trace.filter((e) => e.actor === 'T0' && e.id === 'filemap_fault')).toHaveLength(2);
  });

  it('on a CPU that never ran a user mm, enter_lazy_tlb() finds init_mm and stores nothing', () => {
    const sc = parseScenario(`${BASE}kswapd kswapd0 cpu=1\n  reclaim P0 0x10000\nschedule\n  T0\n  kswapd0 until=context_switch.enter_lazy_tlb\n`);
    const r = runScenario({ ...sc, schedule: [...sc.schedule] }, { policy: linux, properties: PROPERTIES });
    expect(r.verdict).toBe('pass');
    expect(r.state.cpus[1]!.isLazy).toBe(false);
    expect(r.state.cpus[1]!.loadedMm).toBeNull();
    expect(r.coverage.kswapd_reclaim_on_lazy_mm).toBe(0);
    expect(r.coverage.reclaim_folio_freed).toBe(1); // the batch flush IPIs CPU0, where T0 is not lazy
  });

  it('waits for its CPU while a user thread is inside an operation there, like a thread', () => {
    const sc = parseScenario(`${BASE}  read 0x10000\nkswapd kswapd0 cpu=0\n  reclaim P0 0x10000\nschedule\n  T0 until=filemap_fault\n  kswapd0\n  T0\n`);
    const r = run(sc);
    expect(r.verdict).toBe('pass');
    const first = r.trace.findIndex((e) => e.actor === 'kswapd0');
    expect(r.trace.findIndex((e) => e.actor === 'T0' && e.id === 'user_access.walk')).toBeLessThan(first);
  });

  it('still fails the reclaim mutants it shares with direct reclaim', () => {
    const bad = (v: Parameters<typeof applyVariant>[1], file: string) => runScenario(load(file), { policy: applyVariant(linux, v), properties: PROPERTIES });
    expect(bad(reclaimFreeBeforeBatchFlush, 'kswapd-batched-flush-window.txt').violation).toMatchObject({ property: 'no-freed-frame-reachable', actor: 'K', stepId: 'free_unref_folios', holder: 'TLB' });
    // without the tlb_gen bump, kswapd's own lazy CPU, skipped by the batch flush, keeps the freed frame
    const g = bad(tlbbatchNoTlbGen, 'kswapd-batched-flush-window.txt');
    expect(g.violation).toMatchObject({ property: 'no-freed-frame-reachable', actor: 'K', stepId: 'free_unref_folios', holder: 'TLB' });
    expect(g.violation!.message).toContain('CPU0');
    expect(run(load('kswapd-vs-mprotect-3ea277194daa.txt')).verdict).toBe('pass');
    expect(bad(pre3ea277194daa, 'kswapd-vs-mprotect-3ea277194daa.txt').violation).toMatchObject({ property: 'protect-complete', actor: 'T2', stepId: 'sys_mprotect.return', holder: 'TLB' });
  });
});

describe('kswapd in scenario text, schema and validation', () => {
  it('prints and parses back, and passes the JSON schema', () => {
    for (const f of ['kswapd-batched-flush-window.txt', 'kswapd-lazy-cpu-to-init-mm.txt', 'kswapd-vs-mprotect-3ea277194daa.txt']) {
      const sc = load(f);
      expect(sc.kswapd).toBeDefined();
      expect(parseScenario(printScenario(sc))).toEqual(sc);
      expect(checkSchema(JSON.parse(JSON.stringify(sc)), SCENARIO_SCHEMA)).toBeNull();
    }
    expect(printScenario(load('kswapd-lazy-cpu-to-init-mm.txt'))).toContain('kswapd kswapd0 cpu=0\n  reclaim P0 0x10000\n');
  });

  it('refuses malformed kswapd lines with the line and the reason', () => {
    const err = (s: string) => {
      try {
        parseScenario(s, 'x.txt');
      } catch (e) {
        return (e as ScenarioParseError).message;
      }
      return null;
    };
    expect(err(`${BASE}kswapd K cpu=0\n  read 0x10000\n`)).toBe("x.txt:8: kswapd runs reclaim requests only: expected 'reclaim PROCESS ADDRESS', got 'read'");
    expect(err(`${BASE}kswapd K cpu=0\n  reclaim 0x10000\n`)).toBe('x.txt:8: missing address');
    expect(err(`${BASE}kswapd K cpu=0\n  reclaim P9 0x10000\n`)).toBe("x.txt:8: undeclared process 'P9'");
    expect(err(`${BASE}kswapd K cpu=0\n  reclaim P0 0x10000\nkswapd K2 cpu=1\n`)).toBe('x.txt:9: a second kswapd: the model has one node, so one kswapd');
    expect(err(`${BASE}kswapd T0 cpu=0\n`)).toBe("x.txt:7: kswapd 'T0' has the name of a thread");
    expect(err(`kswapd T0 cpu=0\n  reclaim P0 0x10000\n${BASE}`)).toBe("x.txt:7: thread 'T0' has the name of the kswapd");
  });

  it('validation: the CPU, the request list, the processes, the actor names', () => {
    const sc = parseScenario(`${BASE}kswapd K cpu=0\n  reclaim P0 0x10000\n`);
    expect(validateScenario(sc)).toBeNull();
    expect(validateScenario({ ...sc, kswapd: { ...sc.kswapd!, cpu: 2 } })).toEqual({ near: 'K', problem: "kswapd 'K' on cpu 2, but config has 2 CPUs" });
    expect(validateScenario({ ...sc, kswapd: { ...sc.kswapd!, reclaims: [] } })).toEqual({ near: 'K', problem: "kswapd 'K' has no reclaim request: it would never wake" });
    expect(validateScenario({ ...sc, kswapd: { ...sc.kswapd!, reclaims: [{ proc: 'P7', va: 16 }] } })?.problem).toContain("reclaims a page of 'P7', which is no process of the scenario");
    expect(validateScenario({ ...sc, kswapd: { ...sc.kswapd!, name: 'ipi@cpu0' } })?.problem).toBe("kswapd 'ipi@cpu0' has the name of another actor");
    // a schedule names it like a thread, until= its own steps
    expect(validateScenario({ ...sc, schedule: [{ actor: 'K', until: 'kswapd_try_to_sleep' }] }, linux)).toBeNull();
    expect(validateScenario({ ...sc, kswapd: undefined, schedule: [{ actor: 'K' }] })?.problem).toBe("schedule names unknown actor 'K'");
  });

  it('shrinkers: kswapd can go, its requests can go, and canonical names follow its processes and CPU', () => {
    const sc = parseScenario(`config cpus=2\nprocess Q\nfile F pages=1\nmmap Q 0x10000 pages=1 prot=rw file=F\nthread A Q cpu=1\n  read 0x10000\nkswapd kswapd0 cpu=0\n  reclaim Q 0x10000\n  reclaim Q 0x10000\nschedule\n  kswapd0\n`);
    expect(candidates(sc, 'thread').find((c) => c.what === 'kswapd kswapd0')!.scenario).not.toHaveProperty('kswapd');
    expect(candidates(sc, 'thread').find((c) => c.what === 'kswapd kswapd0')!.scenario.schedule).toEqual([]);
    expect(candidates(sc, 'op').filter((c) => c.what.startsWith('kswapd request'))).toHaveLength(2);
    const c = canonicalNames(sc);
    expect(c.kswapd).toEqual({ name: 'kswapd0', cpu: 1, reclaims: [{ proc: 'P0', va: 16 }, { proc: 'P0', va: 16 }] });
    expect(validateScenario(c)).toBeNull();
  });
});

describe('kswapd in the fuzz generator', () => {
  const withReclaim: OpKind[] = [...opKindsFor(null), 'reclaim'];
  it('gives some reclaim ops of some runs to kswapd0, never without reclaim in the kinds', () => {
    const draws = fc.sample(rawScenarioArb({ ops: withReclaim, mshare: null }), { numRuns: 200, seed: 7 }).map((r) => resolve(r));
    const withK = draws.filter((s) => s.kswapd);
    expect(withK.length).toBeGreaterThan(10);
    expect(draws.some((s) => !s.kswapd && s.threads.some((t) => t.ops.some((o) => o.kind === 'reclaim')))).toBe(true);
    for (const s of withK) {
      expect(s.kswapd!.name).toBe('kswapd0');
      expect(validateScenario(s, linux)).toBeNull();
    }
    const plain = fc.sample(rawScenarioArb({ ops: opKindsFor(null), mshare: null }), { numRuns: 100, seed: 7 });
    expect(plain.some((r) => r.kswapd !== undefined || resolve(r).kswapd !== undefined)).toBe(false);
    expect(OP_KINDS).toContain('reclaim');
  });

  it('a drawn kswapd run reaches kswapd_reclaim_on_lazy_mm and kswapd_batch_flush_lazy_cpu', () => {
    const draws = fc.sample(rawScenarioArb({ ops: withReclaim, mshare: null }), { numRuns: 400, seed: 11 }).map((r) => resolve(r)).filter((s) => s.kswapd);
    let lazy = 0;
    let batch = 0;
    for (const s of draws) {
      const r = runScenario(s, { policy: linux, properties: PROPERTIES });
      expect(r.verdict).not.toBe('model-error');
      lazy += r.coverage.kswapd_reclaim_on_lazy_mm;
      batch += r.coverage.kswapd_batch_flush_lazy_cpu;
    }
    expect(lazy).toBeGreaterThan(0);
    expect(batch).toBeGreaterThan(0);
  });
});
