// flush_tlb_mm_range() and native_flush_tlb_multi() (arch/x86/mm/tlb.c):
//
//   1. inc_mm_tlb_gen(mm): page-table writes are already done (under the
//      PTL); the increment pairs with switch_mm_irqs_off() reading tlb_gen
//      after setting its cpumask bit.
//   2. get_flush_tlb_info(): a range longer than
//      tlb_single_page_flush_ceiling becomes TLB_FLUSH_ALL (also a schedule
//      choice); should_trim_cpumask() is a schedule choice.
//   3. Send: with freed_tables every CPU in mm_cpumask, lazy ones included
//      (they must stop walking freed tables); otherwise only CPUs for which
//      should_flush_tlb() holds: not lazy, and switching, or running mm, or
//      trimming.
//   4. Run flush_tlb_func() locally, IRQs off, if this CPU is targeted.
//   5. Wait until every target acknowledged (IPIs are synchronous).
//   6. mmu_notifier_arch_invalidate_secondary_tlbs().
//
// Guarded by unmap-complete and protect-complete (a target skipped wrongly
// keeps a usable entry after the caller returns), no-freed-table-reachable
// (lazy CPUs at a table free) and no-deadlock (waiting for a CPU that spins
// with IRQs off).

import { step, type StepDef } from '../step.js';
import { note } from '../locks.js';
import type { K } from '../step.js';
import type { Cpu, FlushInfo, KernelState } from '../state.js';
import { TLB_FLUSH_ALL } from '../state.js';
import type { MmId } from '../types.js';
import { fence, LOADED_MM_SWITCHING, readTso } from '../store_buffer.js';

export interface FlushCtx {
  mm: MmId;
  start: number;
  end: number;
  freedTables: boolean;
  info?: FlushInfo;
  sent?: number[];
  runLocal?: boolean;
}

/**
 * should_flush_tlb(): evaluated by the sender for each target at send
 * time. Another CPU's loaded_mm and is_lazy are read from memory, not from
 * its store buffer (store_buffer.ts); the local CPU reads its own. Both
 * words are read in this one step, one of the executions TSO allows
 * (smp_rmb() keeps is_lazy at least as new as loaded_mm; fea4e317f9e7).
 */
export function shouldFlushTlb(s: KernelState, cpu: Cpu, info: FlushInfo, reader: number): boolean {
  const seen = readTso(reader, cpu);
  if (seen.isLazy) return false;
  if (info.mm === null) return true;
  if (seen.loadedMm === LOADED_MM_SWITCHING) return true; // fea4e317f9e7
  if (seen.loadedMm === info.mm) return true;
  return info.trimCpumask;
}

export function sendIpis(k: K, cpus: number[], func: 'flush_tlb_func' | 'do_flush_tlb_all' | 'flush_tlb_func_mshare', info: FlushInfo): number[] {
  const sent: number[] = [];
  for (const t of cpus) {
    const seq = ++k.s.ipiSeq;
    k.s.cpus[t]!.ipis.push({ seq, from: k.self, func, info });
    sent.push(seq);
  }
  return sent;
}

export function ipisAcked(s: KernelState, sent: number[]): boolean {
  return s.cpus.every((cpu) => cpu.ipis.every((i) => !sent.includes(i.seq)));
}

/** csd_lock_wait(): block until every IPI in `sent` was handled; one step when it returns. */
export function* waitForIpis(k: K, sent: number[], id: string) {
  if (sent.length === 0) return;
  note(k, 'ipi-wait', null, id);
  if (!ipisAcked(k.s, sent)) {
    const cpus = k.s.cpus.filter((cpu) => cpu.ipis.some((i) => sent.includes(i.seq))).map((c) => c.id);
    yield { id, wait: () => ipisAcked(k.s, sent), waitFor: { kind: 'ipi' as const, cpus } };
  }
  yield { id };
}

/** Run `path` on this CPU with IRQs off, as smp_call_function_many_cond() does for the local CPU. */
export function* runLocalIrqsOff(k: K, path: string, c: unknown) {
  const cpu = k.s.cpus[k.cpu]!;
  const was = cpu.irqsOff;
  if (!was) {
    cpu.irqsOff = true;
    cpu.irqOffSeq = k.s.rcu.seq;
  }
  yield* k.run(path, c);
  cpu.irqsOff = was;
}

export const flushTlbMmRange: StepDef<FlushCtx>[] = [
  step('flush_tlb_mm_range.inc_mm_tlb_gen', function* (k, c) {
    const mm = k.s.mms[c.mm]!;
    const newTlbGen = ++mm.tlbGen;
    fence(k.s.cpus[k.cpu]!); // atomic64_inc_return() is a LOCK RMW
    const full = c.end === TLB_FLUSH_ALL || c.end - c.start > k.s.config.flushCeiling || k.choose('flush_tlb_mm_range.flush_all');
    c.info = {
      mm: c.mm,
      start: full ? 0 : c.start,
      end: full ? TLB_FLUSH_ALL : c.end,
      freedTables: c.freedTables,
      newTlbGen,
      trimCpumask: k.choose('should_trim_cpumask'),
    };
    yield { id: 'flush_tlb_mm_range.inc_mm_tlb_gen' };
  }),
  step('native_flush_tlb_multi.send', function* (k, c) {
    const mm = k.s.mms[c.mm]!;
    const info = c.info!;
    const me = k.s.cpus[k.cpu]!;
    const others = mm.cpumask.filter((x) => x !== k.cpu);
    if (others.length === 0) {
      c.sent = [];
      c.runLocal = me.loadedMm === c.mm;
      return;
    }
    const targets = info.freedTables ? others : others.filter((x) => shouldFlushTlb(k.s, k.s.cpus[x]!, info, k.cpu));
    c.sent = sendIpis(k, targets, 'flush_tlb_func', info);
    c.runLocal = mm.cpumask.includes(k.cpu) && (info.freedTables || shouldFlushTlb(k.s, me, info, k.cpu));
    yield { id: 'native_flush_tlb_multi.send' };
  }),
  step('native_flush_tlb_multi.local', function* (k, c) {
    if (c.runLocal) yield* runLocalIrqsOff(k, 'flush_tlb_func', { info: c.info! });
  }),
  step('native_flush_tlb_multi.wait', function* (k, c) {
    yield* waitForIpis(k, c.sent!, 'native_flush_tlb_multi.wait');
  }),
  // The secondary TLBs that share the CPU page tables: with mshare, the
  // host mm's notifier (mshare_invalidate_tlbs); otherwise none.
  step('mmu_notifier_arch_invalidate_secondary_tlbs', function* (k, c) {
    if (k.policy.mshare) yield* k.run('mshare_invalidate_tlbs', c);
  }),
];

export interface FlushAllCtx {
  sent?: number[];
}

/** flush_tlb_all(): on_each_cpu(do_flush_tlb_all, NULL, 1). */
export const flushTlbAll: StepDef<FlushAllCtx>[] = [
  step('flush_tlb_all.send', function* (k, c) {
    const info: FlushInfo = { mm: null, start: 0, end: TLB_FLUSH_ALL, freedTables: true, newTlbGen: 0, trimCpumask: false };
    c.sent = sendIpis(k, k.s.cpus.filter((x) => x.id !== k.cpu).map((x) => x.id), 'do_flush_tlb_all', info);
    yield { id: 'flush_tlb_all.send' };
  }),
  step('flush_tlb_all.local', function* (k) {
    yield* runLocalIrqsOff(k, 'do_flush_tlb_all', {});
  }),
  step('flush_tlb_all.wait', function* (k, c) {
    yield* waitForIpis(k, c.sent!, 'flush_tlb_all.wait');
  }),
];
