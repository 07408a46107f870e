// flush_tlb_mm_range() and native_flush_tlb_multi() (arch/x86/mm/tlb.c):
//
//   1. inc_mm_tlb_gen(mm): page-table writes are already done (under the
//      PTL); the increment pairs with switch_mm_irqs_off() reading tlb_gen
//      after setting its cpumask bit.
//   2. get_flush_tlb_info(): a range of more than
//      tlb_single_page_flush_ceiling strides ((end - start) >> stride_shift;
//      the stride comes from tlb_get_unmap_shift() through tlb_flush())
//      becomes TLB_FLUSH_ALL (also a schedule choice); should_trim_cpumask()
//      is a schedule choice.
//   3. Send: with freed_tables every CPU in mm_cpumask, lazy ones included
//      (they must stop walking freed tables); otherwise only CPUs for which
//      should_flush_tlb() holds: not lazy, and switching, or running mm, or
//      trimming.
//   4. Run flush_tlb_func() locally, IRQs off, if this CPU is targeted.
//   5. Wait until every target acknowledged (IPIs are synchronous).
//   6. mmu_notifier_arch_invalidate_secondary_tlbs(mm, start, end), after
//      put_cpu() (6bbd42e2df8f): an SVA device's ATC (paths/sva.ts).
//
// With INVLPGB (config invlpgb = 1, X86_FEATURE_INVLPGB, v6.15+; Rik van
// Riel's series, arch/x86/mm/tlb.c):
//   - flush_tlb_all() is invlpgb_flush_all() + tlbsync: every CPU's TLB,
//     every PCID and the paging-structure caches, with no IPI, so nothing
//     waits for a CPU with IRQs off.
//   - flush_tlb_mm_range(): if mm_global_asid(mm), broadcast_tlb_flush()
//     (INVLPGB per stride, or the whole PCID for TLB_FLUSH_ALL, final
//     translations only unless freed_tables, then __tlbsync()) instead of
//     flush_tlb_multi(): no IPI, lazy CPUs included by the broadcast, and
//     an IRQs-off walker (GUP-fast) is not held off, so page-table
//     lifetime rests on RCU table freeing alone (MMU_GATHER_RCU_TABLE_FREE
//     unconditional on x86 since Rik van Riel's "x86/mm: Make
//     MMU_GATHER_RCU_TABLE_FREE unconditional", same series).
//   - consider_global_asid(), after a flush_tlb_multi(): an mm on more
//     than 3 CPUs (mm_active_cpus(mm) > 3) gets a global ASID when its
//     "(current->pid & 0x1f) == (jiffies & 0x1f)" sampling fires, a
//     schedule choice (consider_global_asid). With the default 2 CPUs no
//     mm ever gets one.
//   - tlb_remove_table_sync_one() still IPIs (smp_call_function), INVLPGB
//     or not (mm/mmu_gather.c).
//   Simplified: a global-ASID mm keeps its per-CPU slots; the broadcast
//   flushes every slot holding its ctx_id on every CPU, and switch-in still
//   compares tlb_gen (the kernel skips that for a global ASID, so the model
//   may flush more there, never less). The ASID transition
//   (in_asid_transition, finish_asid_transition) does not arise, and
//   should_trim_cpumask()'s interplay with broadcast (RAR series) is not
//   modelled.
//
// Guarded by unmap-complete and protect-complete (a target skipped wrongly
// keeps a usable entry after the caller returns), no-freed-table-reachable
// (lazy CPUs at a table free) and no-deadlock (waiting for a CPU that spins
// with IRQs off).

import { step, type StepDef, type StepFn } from '../step.js';
import { note } from '../locks.js';
import type { K } from '../step.js';
import type { Cpu, FlushInfo, Ipi, KernelState } from '../state.js';
import { TLB_FLUSH_ALL } from '../state.js';
import { flushEverything, flushSlot, invlpgbOne } from '../tlb.js';
import type { MmId } from '../types.js';
import { fence, LOADED_MM_SWITCHING, readTso } from '../store_buffer.js';
import { svaArchInvalidateSecondaryTlbs } from './sva.js';

export interface FlushCtx {
  mm: MmId;
  start: number;
  end: number;
  /** 1 << stride_shift, in pages (see FlushInfo.stride). */
  stride: number;
  freedTables: boolean;
  info?: FlushInfo;
  sent?: number[];
  runLocal?: boolean;
  /** broadcast_tlb_flush() did the flush (global ASID under INVLPGB). */
  broadcast?: boolean;
}

/**
 * should_flush_tlb(): evaluated by the sender for each target at send
 * time. Another CPU's loaded_mm and is_lazy are read from memory, not from
 * its store buffer (store_buffer.ts); the local CPU reads its own. Both
 * words are read in this one step, one of the executions TSO allows
 * (smp_rmb() keeps is_lazy at least as new as loaded_mm; fea4e317f9e7).
 */
export function shouldFlushTlb(s: KernelState, cpu: Cpu, info: FlushInfo, reader: number, k?: Pick<K, 'decide'>): boolean {
  const seen = readTso(reader, cpu);
  if (seen.isLazy) return false;
  if (info.mm === null) return true;
  const switching = seen.loadedMm === LOADED_MM_SWITCHING; // fea4e317f9e7
  if (k ? k.decide('should_flush_tlb.loaded_mm_switching', switching, { cpu: cpu.id }) : switching) return true;
  if (seen.loadedMm === info.mm) return true;
  return info.trimCpumask;
}

export function sendIpis(k: K, cpus: number[], func: Ipi['func'], info: FlushInfo): number[] {
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
  if (was) return;
  // local_irq_restore() is a step of its own: the csd_lock_wait() that
  // follows may block, and a blocked actor has done nothing since its
  // last step (step.ts), so IRQs must be on before that wait begins.
  cpu.irqsOff = false;
  yield { id: 'smp_call_function_many_cond.local_irq_restore' };
}

/**
 * native_flush_tlb_multi()'s send, for a given should_flush_tlb(): with
 * freed_tables every other CPU of mm_cpumask, otherwise those the test
 * picks; the local CPU runs flush_tlb_func() itself by the same test.
 * Variants of the test (variants/pre-fea4e317f9e7.ts) reuse the rest.
 */
export function nativeFlushTlbMultiSend(should: (s: KernelState, cpu: Cpu, info: FlushInfo, reader: number, k?: Pick<K, 'decide'>) => boolean): StepFn<FlushCtx> {
  return function* (k, c) {
    if (c.broadcast) return;
    const mm = k.s.mms[c.mm]!;
    const info = c.info!;
    const me = k.s.cpus[k.cpu]!;
    const others = mm.cpumask.filter((x) => x !== k.cpu);
    if (others.length === 0) {
      c.sent = [];
      c.runLocal = me.loadedMm === c.mm;
      return;
    }
    const all = k.decide('native_flush_tlb_multi.freed_tables', info.freedTables);
    const targets = all ? others : others.filter((x) => should(k.s, k.s.cpus[x]!, info, k.cpu, k));
    c.sent = sendIpis(k, targets, 'flush_tlb_func', info);
    c.runLocal = mm.cpumask.includes(k.cpu) && (all || should(k.s, me, info, k.cpu, k));
    yield { id: 'native_flush_tlb_multi.send' };
  };
}

export const flushTlbMmRange: StepDef<FlushCtx>[] = [
  step('flush_tlb_mm_range.inc_mm_tlb_gen', function* (k, c) {
    const mm = k.s.mms[c.mm]!;
    const newTlbGen = ++mm.tlbGen;
    fence(k.s.cpus[k.cpu]!); // atomic64_inc_return() is a LOCK RMW
    // get_flush_tlb_info(): the ceiling counts strides, not pages
    const full = c.end === TLB_FLUSH_ALL || Math.floor((c.end - c.start) / c.stride) > k.s.config.flushCeiling || k.choose('flush_tlb_mm_range.flush_all');
    c.info = {
      mm: c.mm,
      start: full ? 0 : c.start,
      end: full ? TLB_FLUSH_ALL : c.end,
      stride: c.stride,
      freedTables: c.freedTables,
      newTlbGen,
      trimCpumask: k.choose('should_trim_cpumask'),
    };
    yield { id: 'flush_tlb_mm_range.inc_mm_tlb_gen' };
  }),
  // if (mm_global_asid(mm)) broadcast_tlb_flush(info);
  step('broadcast_tlb_flush', function* (k, c) {
    const mm = k.s.mms[c.mm]!;
    if (!(k.s.config.invlpgb && mm.globalAsid)) return;
    const info = c.info!;
    for (const cpu of k.s.cpus) {
      cpu.slots.forEach((sl, i) => {
        if (sl.ctxId !== mm.ctxId) return;
        if (info.end === TLB_FLUSH_ALL) flushSlot(cpu, i); // invlpgb_flush_single_pcid_nosync()
        else for (let v = info.start; v < info.end; v += info.stride) invlpgbOne(k.s, cpu, i, v, !info.freedTables); // invlpgb_flush_user_nr_nosync()
      });
    }
    c.broadcast = true;
    c.sent = [];
    c.runLocal = false;
    yield { id: 'broadcast_tlb_flush.tlbsync' }; // __tlbsync(): done, whatever any CPU's IRQ state
  }),
  step('native_flush_tlb_multi.send', nativeFlushTlbMultiSend(shouldFlushTlb)),
  step('native_flush_tlb_multi.local', function* (k, c) {
    if (c.runLocal) yield* runLocalIrqsOff(k, 'flush_tlb_func', { info: c.info! });
  }),
  step('native_flush_tlb_multi.wait', function* (k, c) {
    yield* waitForIpis(k, c.sent!, 'native_flush_tlb_multi.wait');
  }),
  // consider_global_asid(), after flush_tlb_multi() only
  step('consider_global_asid', function* (k, c) {
    const mm = k.s.mms[c.mm]!;
    if (!k.s.config.invlpgb || c.broadcast || mm.globalAsid || mm.cpumask.filter((x) => x !== k.cpu).length === 0) return;
    if (mm.cpumask.length <= 3 || !k.choose('consider_global_asid')) return; // mm_active_cpus(mm) > 3; the pid/jiffies sampling
    mm.globalAsid = true; // use_global_asid()
    yield { id: 'consider_global_asid.use_global_asid' };
  }),
  // The secondary TLBs that share the CPU page tables, with the caller's
  // start and end (6bbd42e2df8f): an IOMMU SVA domain's (paths/sva.ts),
  // and with mshare the host mm's notifier (mshare_invalidate_tlbs).
  step('mmu_notifier_arch_invalidate_secondary_tlbs', function* (k, c) {
    yield* svaArchInvalidateSecondaryTlbs(k, c.mm, c.start, c.end);
    if (k.policy.mshare) yield* k.run('mshare_invalidate_tlbs', c);
  }),
];

export interface FlushAllCtx {
  sent?: number[];
  broadcast?: boolean;
}

/** flush_tlb_all(): on_each_cpu(do_flush_tlb_all, NULL, 1). */
export const flushTlbAll: StepDef<FlushAllCtx>[] = [
  // invlpgb_flush_all(): every CPU, every PCID, globals and PSC, no IPI
  step('flush_tlb_all.invlpgb_flush_all', function* (k, c) {
    if (!k.s.config.invlpgb) return;
    for (const cpu of k.s.cpus) flushEverything(cpu);
    c.broadcast = true;
    yield { id: 'flush_tlb_all.invlpgb_flush_all' };
  }),
  step('flush_tlb_all.send', function* (k, c) {
    if (c.broadcast) return;
    const info: FlushInfo = { mm: null, start: 0, end: TLB_FLUSH_ALL, stride: 1, freedTables: true, newTlbGen: 0, trimCpumask: false };
    c.sent = sendIpis(k, k.s.cpus.filter((x) => x.id !== k.cpu).map((x) => x.id), 'do_flush_tlb_all', info);
    yield { id: 'flush_tlb_all.send' };
  }),
  step('flush_tlb_all.local', function* (k, c) {
    if (!c.broadcast) yield* runLocalIrqsOff(k, 'do_flush_tlb_all', {});
  }),
  step('flush_tlb_all.wait', function* (k, c) {
    if (!c.broadcast) yield* waitForIpis(k, c.sent!, 'flush_tlb_all.wait');
  }),
];
