// Physical frames: allocation, references, freeing.
//
// A frame goes back to the allocator when its refcount reaches zero
// (put_page / __free_pages). The allocator reuses the most recently freed
// frame first, so a use-after-free through a stale translation lands on a
// frame that already holds something else.

import type { Frame, KernelState } from './state.js';
import { ModelError, type MmId, type Pfn } from './types.js';

export function allocFrame(s: KernelState, lp: string): Frame {
  const p = s.freeList.pop();
  if (p === undefined) throw new ModelError(`out of frames (config.frames = ${s.config.frames})`);
  const f = s.frames[p]!;
  if (f.state !== 'free') throw new ModelError(`frame ${p} on the free list is ${f.state}`);
  f.state = 'data';
  f.refcount = 1;
  f.mapcount = 0;
  f.content = 0; // clear_user_highpage(): a new page reads as zero
  f.dirty = false;
  delete f.lazyfree; // a new anonymous folio is swap-backed (folio_add_new_anon_rmap())
  delete f.swapSlot;
  f.level = 0;
  f.owner = null;
  f.entries = null;
  f.shareCount = 0;
  if (f.subpages) f.subpages = undefined; // a hugetlb folio's head, reused
  f.allocId = s.ghost.nextAllocId++;
  f.lp = lp;
  return f;
}

/** pagetable_alloc(): a zeroed page-table page of `level` for `owner`. */
export function allocTable(s: KernelState, owner: MmId, level: number): Frame {
  const f = allocFrame(s, `pt:${owner}:L${level}`);
  f.state = 'pagetable';
  f.level = level;
  f.owner = owner;
  f.entries = new Array(s.config.fanout).fill(null);
  return f;
}

export function getPage(s: KernelState, p: Pfn): void {
  const f = s.frames[p]!;
  if (f.state === 'free') throw new ModelError(`get_page on free frame ${p}`);
  f.refcount++;
}

/** put_page(): drop a reference; the last one frees the frame. Returns true if freed. */
export function putPage(s: KernelState, p: Pfn): boolean {
  const f = s.frames[p]!;
  if (f.state === 'free' || f.refcount <= 0) throw new ModelError(`put_page on frame ${p} with refcount ${f.refcount} (${f.state})`);
  if (--f.refcount > 0) return false;
  freeFrame(s, f);
  return true;
}

/**
 * __free_pages(). A page table freed while it still has entries is a
 * kernel bug the model must be able to express (a shared table freed while
 * another mm still fills it): what it pointed to leaks, and whoever still
 * links to it is caught by no-freed-table-reachable.
 */
export function freeFrame(s: KernelState, f: Frame): void {
  f.state = 'free';
  f.refcount = 0;
  f.mapcount = 0;
  delete f.lazyfree;
  delete f.swapSlot;
  f.entries = null;
  f.owner = null;
  s.freeList.push(f.pfn);
}

/** is_zero_pfn(): the shared zero page (KernelState.zeroPfn), which vm_normal_page() does not return. */
/**
 * folio_maybe_dma_pinned(), as the model counts references: the kernel
 * counts GUP_PIN_COUNTING_BIAS per pin; the model's only references beyond
 * a folio's mappings and the `others` its caller holds or expects (the
 * isolation, the swap cache) are GUP pins (gup.ts, gup_fast.ts) and KVM's
 * hva_to_pfn() references, which can only make it keep a page more often.
 */
export const folioMaybeDmaPinned = (f: { refcount: number; mapcount: number }, others = 0): boolean => f.refcount > f.mapcount + others;

export const isZeroPfn = (s: KernelState, p: Pfn): boolean => s.zeroPfn !== undefined && s.zeroPfn === p;
