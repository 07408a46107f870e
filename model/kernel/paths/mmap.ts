// mmap(MAP_FIXED_NOREPLACE): do_mmap() -> mmap_region() (mm/mmap.c).
// Only the VMA tree changes; pages are faulted in on first access. A range
// overlapping an existing VMA fails with EEXIST and changes nothing. The new
// VMA enters the tree write-locked (__mmap_new_vma(): vma_start_write()),
// so no per-VMA-lock fault uses it before mmap_write_unlock().

import { step, type StepDef } from '../step.js';
import { lock, mmapLock, mmLockSeq, unlock } from '../locks.js';
import type { MmId, Prot, Vpn } from '../types.js';
import type { Vma } from '../state.js';
import { linkFileVma } from './hugetlb.js';

export interface MmapCtx {
  mm: MmId;
  start: number;
  end: number;
  prot: Prot;
  file: string | null;
  pgoff: number;
  result?: string;
}

export const mmap: StepDef<MmapCtx>[] = [
  step('do_mmap.mmap_write_lock', function* (k, c) {
    yield* lock(k, mmapLock(c.mm), 'w', 'do_mmap.mmap_write_lock');
  }),
  step('mmap_region', function* (k, c) {
    const mm = k.s.mms[c.mm]!;
    if (mm.vmas.some((v) => v.start < c.end && v.end > c.start)) {
      c.result = 'EEXIST';
    } else {
      const v: Vma = { start: c.start as Vpn, end: c.end as Vpn, prot: { ...c.prot }, kind: c.file ? 'shared' : 'anon', file: c.file, pgoff: c.pgoff, vmLockSeq: mmLockSeq(k.s, c.mm) };
      mm.vmas.push(v);
      linkFileVma(k.s, c.mm, v); // vma_link_file(): a hugetlbfs VMA enters i_mmap
      mm.vmas.sort((a, b) => a.start - b.start);
      c.result = 'ok';
    }
    yield { id: 'mmap_region' };
  }),
  step('do_mmap.mmap_write_unlock', function* (k, c) {
    yield* unlock(k, mmapLock(c.mm), 'do_mmap.mmap_write_unlock');
  }),
];
