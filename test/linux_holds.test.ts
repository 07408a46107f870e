// Hand-written races on which mainline Linux is correct: each must run to
// the end with every property holding, and must really reach the race
// (coverage and trace), or the pass means nothing.

import { describe, expect, it } from 'vitest';
import { linux } from '../model/policies/linux.js';
import { runScenario } from '../model/run/runner.js';
import { anon, idle, madvise, mprotect, munmap, proc, read, run, scenario, thread, until, write } from './build.js';
import { PROPERTIES } from '../properties/registry.js';

const X = 0x10000;
const Y = 0x20000;

describe('linux: allowed staleness is not flagged', () => {
  it('lets another CPU use a stale entry inside an open munmap window (R1)', () => {
    const r = runScenario(
      scenario({
        setup: [proc('P0'), anon('P0', X, 1)],
        threads: [thread('T0', 'P0', 0, write(X), munmap(X)), thread('T1', 'P0', 1, read(X), read(X))],
        schedule: [until('T0', 'user_access.walk'), until('T1', 'user_access.walk'), until('T0', 'zap_pte_range.clear'), run('T1')],
      }),
      { policy: linux, properties: PROPERTIES },
    );
    expect(r.violation).toBeNull();
    expect(r.verdict).toBe('pass');
    expect(r.coverage.stale_access_in_window).toBe(1);
    const hit = r.trace.find((e) => e.actor === 'T1' && e.id === 'user_access.tlb_hit')!;
    expect(hit.obs).toMatchObject({ kind: 'access', value: 1, ok: true });
  });

  it('lets a lazy CPU keep a user entry when no table was freed (R2), then catches up on return', () => {
    const r = runScenario(
      scenario({
        setup: [proc('P0'), anon('P0', X, 1)],
        threads: [thread('T0', 'P0', 0, write(X), madvise(X)), thread('T1', 'P0', 1, read(X), idle, read(X))],
        schedule: [until('T0', 'user_access.walk'), until('T1', 'do_idle.__current_set_polling'), until('T0', 'sys_madvise.return'), run('T1')],
      }),
      { policy: linux, properties: PROPERTIES },
    );
    expect(r.violation).toBeNull();
    expect(r.verdict).toBe('pass');
    // no IPI reached the lazy CPU, its stale entry survived the flush ...
    expect(r.trace.some((e) => e.actor === 'ipi@cpu1')).toBe(false);
    // ... and the switch back compared tlb_gen and flushed
    expect(r.coverage.lazy_return_catch_up).toBe(1);
    const last = r.trace.filter((e) => e.actor === 'T1' && e.obs?.kind === 'access').at(-1)!;
    expect(last.obs).toMatchObject({ value: 0, ok: true }); // MADV_DONTNEED: a fresh zero page
  });

  it('leaves a dormant PCID slot behind on tlb_gen and flushes it at reactivation (R3)', () => {
    const r = runScenario(
      scenario({
        setup: [proc('P0'), proc('P1'), anon('P0', X, 1), anon('P1', Y, 1)],
        threads: [thread('T0', 'P0', 0, write(X), munmap(X)), thread('T1', 'P0', 1, read(X), read(X)), thread('T2', 'P1', 1, read(Y))],
        schedule: [until('T0', 'user_access.walk'), until('T1', 'user_access.walk'), run('T2'), run('T0'), run('T1')],
      }),
      { policy: linux, properties: PROPERTIES },
    );
    expect(r.violation).toBeNull();
    expect(r.coverage.dormant_slot_reactivated).toBe(1);
    const last = r.trace.filter((e) => e.actor === 'T1' && e.obs?.kind === 'access').at(-1)!;
    expect(last.obs).toMatchObject({ ok: false }); // SIGSEGV: the munmap is visible
  });

  it('lets a stale read-only entry outlive a permission upgrade until the flush: it takes a spurious fault (R5)', () => {
    const r = runScenario(
      scenario({
        setup: [proc('P0'), anon('P0', X, 1, 'r')],
        threads: [thread('T0', 'P0', 0, mprotect(X, 1, 'rw')), thread('T1', 'P0', 1, read(X), write(X))],
        schedule: [until('T1', 'user_access.walk'), until('T0', 'change_pte_range.modify_prot'), until('T1', 'user_access.page_fault'), run('T0'), run('T1')],
      }),
      { policy: linux, properties: PROPERTIES },
    );
    expect(r.violation).toBeNull();
    const at = (actor: string, id: string) => r.trace.findIndex((e) => e.actor === actor && e.id === id);
    // the write faulted on the stale read-only entry before mprotect's flush (x86 flushes RW changes too) ...
    expect(at('T1', 'user_access.page_fault')).toBeLessThan(at('T0', 'flush_tlb_mm_range.inc_mm_tlb_gen'));
    // ... and the fault found the PTE already writable
    expect(r.coverage.spurious_fault).toBe(1);
    expect(r.trace.filter((e) => e.actor === 'T1' && e.obs?.kind === 'access').at(-1)!.obs).toMatchObject({ write: true, ok: true });
  });

  it('sends the table-free flush to a lazy CPU, which leaves for init_mm', () => {
    const r = runScenario(
      scenario({
        setup: [proc('P0'), anon('P0', X, 1)],
        threads: [thread('T0', 'P0', 0, write(X), munmap(X)), thread('T1', 'P0', 1, read(X), idle)],
        schedule: [until('T0', 'user_access.walk'), run('T1'), run('T0')],
      }),
      { policy: linux, properties: PROPERTIES },
    );
    expect(r.violation).toBeNull();
    expect(r.coverage.lazy_cpu_at_table_free).toBeGreaterThan(0);
    expect(r.coverage.lazy_cpu_to_init_mm).toBe(1);
    expect(r.trace.some((e) => e.id === 'rcu_do_batch.__tlb_remove_table')).toBe(true);
  });

  it('flushes the whole mm when two madvise(MADV_DONTNEED) zaps overlap (B3 fixed)', () => {
    const r = runScenario(
      scenario({
        setup: [proc('P0'), anon('P0', X, 1)],
        threads: [thread('T0', 'P0', 0, write(X), madvise(X)), thread('T1', 'P0', 1, madvise(X))],
        schedule: [until('T0', 'user_access.walk'), until('T1', 'zap_pte_range.clear'), run('T0'), run('T1')],
      }),
      { policy: linux, properties: PROPERTIES },
    );
    expect(r.violation).toBeNull();
    expect(r.coverage.nested_gathers).toBe(1);
  });
});

describe('linux: an interrupt handler owns its CPU', () => {
  // A flush IPI handled while CPU1 is idle: T1, pinned to CPU1, must not
  // start its context switch beside the handler, or the handler's return
  // would turn interrupts back on inside switch_mm_irqs_off() and let a
  // second IPI see loaded_mm = prev and clear CPU1 from mm_cpumask(next)
  // (a false no-freed-frame-reachable on linux, model 0.4.1).
  it('runs no thread of a CPU while that CPU handles an IPI, and restores the interrupted IRQ state', () => {
    const Z = 0x30000;
    const W = 0x14000;
    const r = runScenario(
      scenario({
        setup: [proc('P0'), proc('P1'), anon('P0', X, 1), anon('P1', W, 1), anon('P1', Z, 1)],
        threads: [thread('T0', 'P0', 1, write(X)), thread('T1', 'P1', 1, read(W)), thread('T2', 'P0', 0, munmap(X)), thread('T3', 'P1', 0, write(Z), munmap(Z), munmap(W))],
        schedule: [
          until('T0', 'user_access.walk'), until('T2', 'native_flush_tlb_multi.send'), until('ipi@cpu1', 'flush_tlb_func.check'), run('T1', 1), until('ipi@cpu1', 'csd_unlock'),
          until('T1', 'switch_mm_irqs_off.read_tlb_gen'), until('T2', 'sys_munmap.return'), until('T3', 'native_flush_tlb_multi.send'), until('ipi@cpu1', 'csd_unlock'),
          until('T1', 'user_access.walk'), run('T3'),
        ],
      }),
      { policy: linux, properties: PROPERTIES },
    );
    expect(r.violation).toBeNull();
    expect(r.verdict).toBe('pass');
    // between a handler's first step and its csd_unlock no CPU1 thread takes a step
    let inHandler = false;
    for (const e of r.trace) {
      if (e.actor === 'ipi@cpu1') inHandler = e.id !== 'csd_unlock';
      else if (e.cpu === 1) expect(inHandler, `${e.actor} ${e.id} at step ${e.n} runs inside an IPI handler`).toBe(false);
    }
    expect(r.trace.filter((e) => e.actor === 'ipi@cpu1' && e.id === 'csd_unlock').length).toBeGreaterThanOrEqual(2);
  });
});
