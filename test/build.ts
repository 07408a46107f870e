// Small builders for hand-written scenarios in tests.

import { readFileSync } from 'node:fs';
import type { Op, Scenario, ScheduleEntry, SetupItem, ThreadSpec } from '../model/run/scenario.js';
import { parseScenario } from '../reports/scenario_text.js';
import { parseProt, PAGE_SHIFT } from '../model/kernel/types.js';

/** Byte address to virtual page number: tests read like the race diagrams. */
export const va = (addr: number) => addr >> PAGE_SHIFT;
const prot = (p: string) => parseProt(p)!;

export const proc = (name: string): SetupItem => ({ kind: 'process', name });
export const file = (name: string, pages: number): SetupItem => ({ kind: 'file', name, pages });
export const anon = (p: string, addr: number, pages: number, pr = 'rw'): SetupItem => ({ kind: 'mmap', proc: p, start: va(addr), pages, prot: prot(pr), file: null, pgoff: 0 });
export const shared = (p: string, addr: number, pages: number, f: string, pr = 'rw'): SetupItem => ({ kind: 'mmap', proc: p, start: va(addr), pages, prot: prot(pr), file: f, pgoff: 0 });

export const read = (addr: number): Op => ({ kind: 'read', va: va(addr) });
export const write = (addr: number): Op => ({ kind: 'write', va: va(addr) });
export const munmap = (addr: number, pages = 1): Op => ({ kind: 'munmap', va: va(addr), pages });
export const madvise = (addr: number, pages = 1): Op => ({ kind: 'madvise', va: va(addr), pages });
/** madvise(MADV_FREE) (paths/madvise_free.ts). */
export const madvFree = (addr: number, pages = 1): Op => ({ kind: 'madv_free', va: va(addr), pages });
export const reclaim = (addr: number): Op => ({ kind: 'reclaim', va: va(addr) });
export const mprotect = (addr: number, pages: number, pr: string): Op => ({ kind: 'mprotect', va: va(addr), pages, prot: prot(pr) });
export const gup = (addr: number): Op => ({ kind: 'gup', va: va(addr) });
export const idle: Op = { kind: 'idle' };

export const thread = (name: string, p: string, cpu: number, ...ops: Op[]): ThreadSpec => ({ name, proc: p, cpu, ops });
export const until = (actor: string, id: string): ScheduleEntry => ({ actor, until: id });
export const run = (actor: string, steps?: number): ScheduleEntry => (steps === undefined ? { actor } : { actor, steps });

export function scenario(s: Partial<Scenario> & Pick<Scenario, 'setup' | 'threads'>): Scenario {
  return { config: {}, speculation: [], schedule: [], choices: [], ...s };
}

/** A hugetlbfs file of `pages` pages (PMD-sized folios: a multiple of 4 pages at fanout 4). */
export const hugeFile = (name: string, pages: number): SetupItem => ({ kind: 'file', name, pages, hugetlb: true });
/** Map the whole hugetlbfs file `f` (or `pages` of it) at byte address `addr`, MAP_SHARED, pgoff 0. */
export const hugeMap = (p: string, addr: number, f: string, pages = 16, pr = 'rw'): SetupItem => ({ kind: 'mmap', proc: p, start: va(addr), pages, prot: prot(pr), file: f, pgoff: 0 });

/** A VM of process `p` with one memslot: gfns [gfn, gfn + pages) backed by the process's memory at byte address `addr`. */
export const vm = (name: string, p: string, gfn: number, addr: number, pages = 1): SetupItem => ({ kind: 'vm', name, proc: p, memslots: [{ gfn, hva: va(addr), pages }] });
export const guestRead = (v: string, gfn: number): Op => ({ kind: 'guest_read', vm: v, gfn });
export const guestWrite = (v: string, gfn: number): Op => ({ kind: 'guest_write', vm: v, gfn });
export const kvmCreateVm = (v: string): Op => ({ kind: 'kvm_create_vm', vm: v });

/** Device `dev` bound to process `p`'s mm by iommu_sva_bind_device() (paths/sva.ts); its DMA is a thread of dmaRead / dmaWrite. */
export const svaBind = (dev: string, p: string): SetupItem => ({ kind: 'sva_bind', dev, proc: p });
export const dmaRead = (dev: string, addr: number): Op => ({ kind: 'dma_read', dev, va: va(addr) });
export const dmaWrite = (dev: string, addr: number): Op => ({ kind: 'dma_write', dev, va: va(addr) });

/** A hand-written scenario of test/scenarios/, by name (with or without `.txt`). */
export function scenarioFile(name: string): Scenario {
  const base = name.replace(/\.txt$/, '');
  return parseScenario(readFileSync(new URL(`./scenarios/${base}.txt`, import.meta.url), 'utf8'), base);
}

/** The step ids of a run's trace, of one actor's steps if `actor` is given. */
export const traceIds = (r: { trace: { actor: string; id: string }[] }, actor?: string) => r.trace.filter((e) => !actor || e.actor === actor).map((e) => e.id);
/** Where in a run's trace `actor` first took step `id`, or -1. */
export const tracePos = (r: { trace: { actor: string; id: string }[] }, actor: string, id: string) => r.trace.findIndex((e) => e.actor === actor && e.id === id);
