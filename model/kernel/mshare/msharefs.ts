// msharefs objects in the model (research/mshare.md 3.1): a file per
// region with a task-less host mm that no CPU ever loads, so its
// mm_cpumask stays empty and no sharer ever sees its tlb_gen. The region
// is exactly one top-level entry; what sharers share is the host's PUD
// table and everything below it.

import { span, type Config } from '../config.js';
import { allocTable } from '../frames.js';
import type { KernelState, Mm, MshareFile, Vma } from '../state.js';
import { mmId, ModelError, type MmId, type Prot, type Vpn } from '../types.js';

export const hostOf = (file: string) => mmId(`${file}.host`);

/** The host region: the second top-level entry (the first stays for ordinary mappings). */
export const hostRegion = (c: Config) => ({ start: span(c, 4), pages: span(c, 4) });

export function mshareOfHost(s: KernelState, mm: MmId | string): MshareFile | undefined {
  for (const f of Object.values(s.mshare)) if (f.host === mm) return f;
  return undefined;
}

export const isHost = (s: KernelState, mm: MmId | string) => mshareOfHost(s, mm) !== undefined;

/** mm_alloc() for the host at file creation; the region is sized once, here. */
export function createMsharefs(s: KernelState, name: string, owner: MmId | null): MshareFile {
  const host = hostOf(name);
  const pgd = allocTable(s, host, 4);
  s.mms[host] = { id: host, pgd: pgd.pfn, ctxId: s.nextCtxId++, tlbGen: 0, cpumask: [], tlbFlushPending: 0, vmas: [], notifiers: [], exiting: false, tlbFlushBatched: { pending: 0, flushed: 0 } };
  const r = hostRegion(s.config);
  const f: MshareFile = { name, host, start: r.start, pages: r.pages, owner, sharers: [], objects: 0 };
  s.mshare[name] = f;
  return f;
}

/** __do_mmap() of anonymous shared memory into the host: a new shmem object. */
export function newInnerVma(s: KernelState, f: MshareFile, offset: number, pages: number, prot: Prot): Vma {
  const name = `${f.name}#${f.objects++}`;
  s.files[name] = { name, pages, cache: new Array(pages).fill(null), anonymous: true };
  const start = f.start + offset;
  if (offset < 0 || offset + pages > f.pages) throw new ModelError(`mapping outside mshare region ${f.name}`);
  return { start: start as Vpn, end: (start + pages) as Vpn, prot: { ...prot }, kind: 'shared', file: name, pgoff: 0 };
}

/**
 * A sharer's window VMA onto region `file` at [start, end), linked
 * write-locked as __mmap_new_vma() links every new VMA; EEXIST over any
 * existing VMA. msharefs_mmap() (ioctl designs) and mshare_attach() (2026)
 * make the same VMA.
 */
export function insertWindowVma(s: KernelState, mm: MmId, file: string, start: number, end: number, vmLockSeq: number): 'ok' | 'EEXIST' {
  const m = s.mms[mm]!;
  if (m.vmas.some((v) => v.start < end && v.end > start)) return 'EEXIST';
  m.vmas.push({ start: start as Vpn, end: end as Vpn, prot: { r: true, w: true }, kind: 'mshare', file, pgoff: 0, vmLockSeq });
  m.vmas.sort((a, b) => a.start - b.start);
  return 'ok';
}

/** The sharer VMA of `mm` covering `v`, with its msharefs file. */
export function sharerWindow(s: KernelState, mm: Mm, v: number): { vma: Vma; file: MshareFile } | null {
  const vma = mm.vmas.find((x) => x.kind === 'mshare' && x.start <= v && v < x.end);
  return vma ? { vma, file: s.mshare[vma.file!]! } : null;
}

/** Sharer address -> host address. */
export const toHost = (f: MshareFile, sharerStart: number, v: number) => f.start + (v - sharerStart);
