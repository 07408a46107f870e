// x86-TSO store buffers for the variables of the context-switch / flush
// protocol that Linux writes with plain stores and other CPUs read
// (arch/x86/mm/tlb.c). The memory-model contract:
//
//   1. TSO variables, per CPU: cpu_tlbstate.loaded_mm (including
//      LOADED_MM_SWITCHING) and cpu_tlbstate_shared.is_lazy. They are
//      written with this_cpu_write() / WRITE_ONCE() / smp_store_release(),
//      all plain MOVs on x86, by switch_mm_irqs_off() and enter_lazy_tlb(),
//      and read by other CPUs in should_flush_tlb().
//   2. A store to them goes into the writing CPU's FIFO store buffer. The
//      writing CPU reads its own latest value (store forwarding): the Cpu
//      fields loadedMm / switching / isLazy are that view, and everything
//      the CPU itself does (its user accesses, flush_tlb_func, its local
//      should_flush_tlb, the oracle's usable rule) reads them. Other CPUs
//      read `memory` (readTso).
//   3. A drain commits the oldest buffered store to memory (TSO: stores
//      become visible in program order). The hardware drains at any time:
//      the actor sb@cpuN (model/run/actors.ts) takes one drain per step.
//   4. A fence empties the executing CPU's buffer: smp_mb(), every
//      LOCK-prefixed read-modify-write (cpumask_set_cpu, cpumask_clear_cpu,
//      atomic64_inc_return in inc_mm_tlb_gen, arch_set_bit in the idle
//      loop, and every lock acquisition: down_read / down_write /
//      spin_lock, model/kernel/locks.ts) and serializing instructions (the
//      CR3 write in load_new_mm_cr3).
//   5. Everything else is sequentially consistent: mm_cpumask and
//      mm->context.tlb_gen are only written by atomics (which go straight
//      to memory), cpu_tlbstate.ctxs[] and loaded_mm_asid are only read by
//      their own CPU, and page tables are written under locks.
//
// The store-buffering pattern this exists for (83b0177a6c48, CVE-2025-37964
// follow-up): switch_mm_irqs_off() stores LOADED_MM_SWITCHING then reads
// tlb_gen; flush_tlb_mm_range() increments tlb_gen then reads loaded_mm.
// Without a fence between the switcher's store and load, both may read the
// old values and the flush is skipped.

import type { Cpu } from './state.js';
import type { MmId } from './types.js';

export const LOADED_MM_SWITCHING = 'LOADED_MM_SWITCHING';
/** A value of cpu_tlbstate.loaded_mm: an mm, init_mm (null) or LOADED_MM_SWITCHING. */
export type LoadedMm = MmId | null | typeof LOADED_MM_SWITCHING;

export type BufferedStore = { var: 'loaded_mm'; value: LoadedMm } | { var: 'is_lazy'; value: boolean };

/** The TSO variables of one CPU as a reader sees them. */
export interface TsoView {
  loadedMm: LoadedMm;
  isLazy: boolean;
}

/** The writing CPU's own view (store forwarding). */
export function ownView(cpu: Cpu): TsoView {
  return { loadedMm: cpu.switching ? LOADED_MM_SWITCHING : cpu.loadedMm, isLazy: cpu.isLazy };
}

/** What CPU `reader` reads of `cpu`'s TSO variables: its own latest stores, or memory. */
export function readTso(reader: number, cpu: Cpu): TsoView {
  return reader === cpu.id ? ownView(cpu) : { ...cpu.memory };
}

/** this_cpu_write(cpu_tlbstate.loaded_mm, v): the CR3 mm of the own view moves only for a real mm or init_mm. */
export function storeLoadedMm(cpu: Cpu, value: LoadedMm): void {
  if (value === LOADED_MM_SWITCHING) cpu.switching = true;
  else {
    cpu.loadedMm = value;
    cpu.switching = false;
  }
  cpu.storeBuffer.push({ var: 'loaded_mm', value });
}

/** this_cpu_write(cpu_tlbstate_shared.is_lazy, v). */
export function storeIsLazy(cpu: Cpu, value: boolean): void {
  cpu.isLazy = value;
  cpu.storeBuffer.push({ var: 'is_lazy', value });
}

/** The hardware commits the oldest buffered store to memory. */
export function drainOldest(cpu: Cpu): BufferedStore | undefined {
  const st = cpu.storeBuffer.shift();
  if (st?.var === 'loaded_mm') cpu.memory.loadedMm = st.value;
  if (st?.var === 'is_lazy') cpu.memory.isLazy = st.value;
  return st;
}

/** smp_mb(), a LOCK-prefixed RMW or a serializing instruction on `cpu`: every buffered store reaches memory. */
export function fence(cpu: Cpu): void {
  while (cpu.storeBuffer.length > 0) drainOldest(cpu);
}

/**
 * A store-buffer reordering is observable at `cpu`: memory still shows an
 * older value of a TSO variable than the CPU's own view, so a remote reader
 * sees the store later than the CPU's following loads do.
 */
export function reorderVisible(cpu: Cpu): boolean {
  const own = ownView(cpu);
  return cpu.storeBuffer.length > 0 && (own.loadedMm !== cpu.memory.loadedMm || own.isLazy !== cpu.memory.isLazy);
}
