// The mshare paths (research/mshare.md 2.5, 3.4, 3.5, 4.4), one design
// knob at a time (model/kernel/mshare/knobs.ts):
//
//   attach   msharefs_mmap(): a VMA_MSHARE VMA of one top-level entry,
//            linked into the file's i_mmap (vma_link_file).
//   ioctls   MSHAREFS_CREATE_MAPPING / MSHAREFS_UNMAP: __do_mmap() or
//            do_munmap() on the host mm under its mmap_lock (write), so
//            the zap uses the host's mmu_gather and its flush reaches only
//            mm_cpumask(host) = {} plus arch_invalidate_secondary_tlbs.
//   flush    mshare_invalidate_tlbs(): what a host-side flush reaches:
//            nothing more (RFC v3), flush_tlb_all() (v1 on), a flush per
//            sharer found in i_mmap (option b), or one IPI round to the
//            union of the sharers' cpumasks that bumps no tlb_gen (option c).
//   detach   mshare_vm_op_unshare_page_range() (v3): under P's
//            page_table_lock drop pt_share_count and clear the entry,
//            then tlb_flush_p4d_range() on P's gather (cleared_p4ds, no
//            freed_tables: a P4D-stride flush). v1/v2 clear the entry in
//            free_pgtables with no gather flag at all (free_pgtables.ts).
//   exit     exit_mshare() (v3 owner): do_munmap() of the whole region.
//
// Guarded by unmap-complete (every sharer), no-freed-frame-reachable,
// no-freed-table-reachable, share-count and lock-discipline.

import { span } from '../config.js';
import { readTso } from '../store_buffer.js';
import { step, STOP_STEP, type StepDef } from '../step.js';
import { iMmapRwsem, lock, mmapLock, note, pageTableLock, unlock, mmLockSeq } from '../locks.js';
import { insertWindowVma, mshareOfHost, newInnerVma } from '../mshare/msharefs.js';
import { tableIndex } from '../pagetable.js';
import type { FlushInfo, Vma } from '../state.js';
import { TLB_FLUSH_ALL } from '../state.js';
import { flushSlot } from '../tlb.js';
import type { MmId, Prot } from '../types.js';
import { runLocalIrqsOff, sendIpis, waitForIpis, type FlushCtx } from './flush_tlb_mm_range.js';
import { gatherOf, tlbFlushP4dRange } from './mmu_gather.js';
import type { MunmapCtx } from './munmap.js';
import { switchToInitMm } from './switch_mm.js';

export interface AttachCtx {
  mm: MmId;
  opId: string;
  file: string;
  start: number;
  end: number;
  result?: string;
}

export const msharefsMmap: StepDef<AttachCtx>[] = [
  step('msharefs_mmap.mmap_write_lock', function* (k, c) {
    yield* lock(k, mmapLock(c.mm), 'w', 'msharefs_mmap.mmap_write_lock');
  }),
  step('msharefs_mmap', function* (k, c) {
    c.result = insertWindowVma(k.s, c.mm, c.file, c.start, c.end, mmLockSeq(k.s, c.mm));
    yield { id: 'msharefs_mmap.vma_link' };
  }),
  step('vma_link_file', function* (k, c) {
    if (c.result !== 'ok') return;
    yield* lock(k, iMmapRwsem(c.file), 'w', 'vma_link_file.i_mmap_lock_write');
    k.s.mshare[c.file]!.sharers.push({ mm: c.mm, start: c.start });
    yield* unlock(k, iMmapRwsem(c.file), 'vma_link_file.i_mmap_unlock_write');
  }),
  step('msharefs_mmap.mmap_write_unlock', function* (k, c) {
    yield* unlock(k, mmapLock(c.mm), 'msharefs_mmap.mmap_write_unlock');
  }),
];

export interface IoctlCtx {
  file: string;
  opId: string;
  offset: number;
  pages: number;
  prot: Prot | null;
  result?: string;
}

export function* doMunmapHost(k: Parameters<StepDef['fn']>[0], host: MmId, opId: string, start: number, end: number) {
  const m: MunmapCtx = { mm: host, opId, start, end, locked: true };
  yield* k.run('munmap', m);
}

export const msharefsCreateMapping: StepDef<IoctlCtx>[] = [
  step('msharefs_create_mapping.mmap_write_lock', function* (k, c) {
    yield* lock(k, mmapLock(k.s.mshare[c.file]!.host), 'w', 'msharefs_create_mapping.mmap_write_lock');
  }),
  step('msharefs_create_mapping.__do_mmap', function* (k, c) {
    const f = k.s.mshare[c.file]!;
    const start = f.start + c.offset;
    const host = k.s.mms[f.host]!;
    if (host.vmas.some((v) => v.start < start + c.pages && v.end > start)) yield* doMunmapHost(k, f.host, c.opId, start, start + c.pages); // MAP_FIXED
    host.vmas.push({ ...newInnerVma(k.s, f, c.offset, c.pages, c.prot!), vmLockSeq: mmLockSeq(k.s, f.host) }); // linked write-locked, as mmap_region() links every new VMA
    host.vmas.sort((a, b) => a.start - b.start);
    c.result = 'ok';
    yield { id: 'msharefs_create_mapping.mmap_region' };
  }),
  step('msharefs_create_mapping.mmap_write_unlock', function* (k, c) {
    yield* unlock(k, mmapLock(k.s.mshare[c.file]!.host), 'msharefs_create_mapping.mmap_write_unlock');
  }),
];

export const msharefsUnmap: StepDef<IoctlCtx>[] = [
  step('msharefs_unmap.mmap_write_lock', function* (k, c) {
    yield* lock(k, mmapLock(k.s.mshare[c.file]!.host), 'w', 'msharefs_unmap.mmap_write_lock');
  }),
  step('msharefs_unmap.do_munmap', function* (k, c) {
    const f = k.s.mshare[c.file]!;
    yield* doMunmapHost(k, f.host, c.opId, f.start + c.offset, f.start + c.offset + c.pages);
    c.result = 'ok';
  }),
  step('msharefs_unmap.mmap_write_unlock', function* (k, c) {
    yield* unlock(k, mmapLock(k.s.mshare[c.file]!.host), 'msharefs_unmap.mmap_write_unlock');
  }),
];

/** exit_mshare(): the owner's exit clears MSHARE_HAS_OWNER, then unmaps the whole region. */
export const exitMshare: StepDef<{ mm: MmId; opId: string }>[] = [
  step('exit_mshare', function* (k, c) {
    for (const f of Object.values(k.s.mshare)) {
      if (f.owner !== c.mm) continue;
      f.owner = null;
      yield { id: 'exit_mshare.clear_owner' };
      yield* lock(k, mmapLock(f.host), 'w', 'exit_mshare.mmap_write_lock');
      yield* doMunmapHost(k, f.host, c.opId, f.start, f.start + f.pages);
      yield* unlock(k, mmapLock(f.host), 'exit_mshare.mmap_write_unlock');
    }
  }),
];

export interface UnshareCtx {
  mm: MmId;
  vma: Vma;
  /** The hook's `addr`: where the unmap starts (the VMA's start for munmap and exit; the advised start for MADV_DONTNEED). */
  start?: number;
}

export const mshareUnsharePageRange: StepDef<UnshareCtx>[] = [
  step('mshare_vm_op_unshare_page_range.spin_lock', function* (k, c) {
    yield* lock(k, pageTableLock(c.mm), 'w', 'mshare_vm_op_unshare_page_range.spin_lock');
  }),
  step('mshare_vm_op_unshare_page_range.p4d_clear', function* (k, c) {
    const s = k.s;
    const pgd = s.frames[s.mms[c.mm]!.pgd]!;
    const i = tableIndex(s.config, c.vma.start, 4);
    const e = pgd.entries![i];
    if (!e) return;
    if (k.knob('shareCount')) s.frames[e.pfn]!.shareCount--;
    pgd.entries![i] = null;
    note(k, 'upper-clear', c.mm, `pgd entry of msharefs VMA ${c.vma.file}`);
    yield { id: 'mshare_vm_op_unshare_page_range.p4d_clear' };
  }),
  step('mshare_vm_op_unshare_page_range.spin_unlock', function* (k, c) {
    yield* unlock(k, pageTableLock(c.mm), 'mshare_vm_op_unshare_page_range.spin_unlock');
  }),
  // tlb_flush_p4d_range(): P's gather, cleared_p4ds and no freed_tables
  // (v3 patch 13, research/mshare.md 3.4). x86 then flushes with a P4D
  // stride: one INVLPG at the VMA's start, which drops the PSC entries it
  // drops (tlb.ts flushTlbOne) but the leaf entry of that one page only.
  // tlb_flush_p4d_range(tlb, addr, sz): from the hook's addr, which is not
  // aligned down, so a DONTNEED's INVLPG lands at the advised page.
  step('mshare_vm_op_unshare_page_range.tlb_flush_p4d_range', function* (k, c) {
    const addr = c.start ?? c.vma.start;
    tlbFlushP4dRange(gatherOf(k), addr, addr + span(k.s.config, 4));
  }),
  // mshare 2026 with listLeave 'at-unlink' (paths/mshare_2026.ts): P leaves
  // the sharer list here, before the gather's flush at tlb_finish_mmu()
  step('mshare_vm_op_unshare_page_range.sharer_del', function* (k, c) {
    if (k.knob('listLeave') === 'at-unlink') yield* k.run('mshare_sharer_del', { mm: c.mm, file: c.vma.file!, start: c.vma.start });
  }),
];

export const mshareInvalidateTlbs: StepDef<FlushCtx>[] = [
  step('mshare_invalidate_tlbs', function* (k, c) {
    const f = mshareOfHost(k.s, c.mm);
    const hostFlush = f && k.knob('hostFlush');
    if (!f || !hostFlush) return STOP_STEP;
    switch (hostFlush) {
      case 'host-cpumask':
        return STOP_STEP; // RFC v3: nothing reaches the sharers
      case 'flush_tlb_all':
        yield* k.run('flush_tlb_all', {});
        return;
      case 'per-sharer': {
        yield* lock(k, iMmapRwsem(f.name), 'r', 'mshare_invalidate_tlbs.i_mmap_lock_read');
        for (const sh of [...f.sharers]) {
          const all = c.end === TLB_FLUSH_ALL;
          const lo = all ? 0 : sh.start + (c.start - f.start);
          const hi = all ? TLB_FLUSH_ALL : sh.start + (c.end - f.start);
          yield* k.run('flush_tlb_mm_range', { mm: sh.mm, start: lo, end: hi, stride: c.stride, freedTables: c.freedTables });
        }
        yield* unlock(k, iMmapRwsem(f.name), 'mshare_invalidate_tlbs.i_mmap_unlock_read');
        return;
      }
      case 'sharer-list':
        yield* k.run('mshare_flush_sharers', c); // mshare 2026 (paths/mshare_2026.ts)
        return;
      case 'cpumask-union': {
        const mask = [...new Set(f.sharers.flatMap((sh) => k.s.mms[sh.mm]!.cpumask))].sort((a, b) => a - b);
        const info: FlushInfo = { mm: null, start: 0, end: TLB_FLUSH_ALL, stride: 1, freedTables: c.freedTables, newTlbGen: 0, trimCpumask: false };
        const targets = mask.filter((x) => x !== k.cpu && (c.freedTables || !readTso(k.cpu, k.s.cpus[x]!).isLazy)); // is_lazy as this CPU sees it (x86-TSO)
        const sent = sendIpis(k, targets, 'flush_tlb_func_mshare', info);
        if (sent.length) yield { id: 'mshare_invalidate_tlbs.flush_tlb_multi' };
        if (mask.includes(k.cpu)) yield* runLocalIrqsOff(k, 'flush_tlb_func_mshare', { info });
        // csd_lock_wait() on every target: its step is taken whether or not the IPIs were already
        // handled, so the step sequence does not depend on when the scheduler first tried this actor
        yield* waitForIpis(k, sent, 'mshare_invalidate_tlbs.wait');
        return;
      }
    }
  }),
];

/** Option (c)'s new flush type: flush whatever PCID is loaded, ignoring info->mm and tlb_gen. */
export const flushTlbFuncMshare: StepDef<{ info: FlushInfo }>[] = [
  step('flush_tlb_func_mshare', function* (k, c) {
    const cpu = k.s.cpus[k.cpu]!;
    if (cpu.loadedMm === null) return;
    if (cpu.isLazy) {
      if (c.info.freedTables) switchToInitMm(cpu);
    } else {
      flushSlot(cpu, cpu.loadedSlot);
    }
    yield { id: 'flush_tlb_func_mshare' };
  }),
];

