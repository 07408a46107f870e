// The initial kernel state of a scenario: frames, CPUs under init_mm,
// processes with their PGD, files, and the setup's VMAs.

import type { Config } from './config.js';
import { allocFrame, allocTable } from './frames.js';
import type { Cpu, KernelState, Vma } from './state.js';
import { linkFileVma } from './paths/hugetlb.js';
import { ModelError, mmId, pfn, type Vpn } from './types.js';
import type { SetupItem } from '../run/scenario.js';
import { createMsharefs, newInnerVma } from './mshare/msharefs.js';
import { kvmSubscription } from './kvm/state.js';
import { svaSubscription } from './sva/state.js';

export function initState(config: Config, setup: SetupItem[], createdAtRun: ReadonlySet<string> = new Set()): KernelState {
  const s: KernelState = {
    config,
    frames: [],
    freeList: [],
    mms: {},
    files: {},
    mshare: {},
    cpus: [],
    locks: {},
    rcu: { seq: 0, callbacks: [] },
    tasks: {},
    nextCtxId: 1,
    ipiSeq: 0,
    ext: {},
    ghost: { nextAllocId: 1, clock: 0, ops: {}, lockOrder: {} },
  };
  for (let i = 0; i < config.frames; i++) {
    s.frames.push({ pfn: pfn(i), state: 'free', refcount: 0, mapcount: 0, content: 0, level: 0, owner: null, entries: null, dirty: false, shareCount: 0, allocId: 0, lp: '' });
  }
  for (let i = config.frames - 1; i >= 0; i--) s.freeList.push(pfn(i)); // frame 0 is handed out first
  for (let c = 0; c < config.cpus; c++) s.cpus.push(newCpu(c, config.pcids));
  for (const item of setup) {
    switch (item.kind) {
      case 'process': {
        const id = mmId(item.name);
        const pgd = allocTable(s, id, 4);
        s.mms[id] = { id, pgd: pgd.pfn, ctxId: s.nextCtxId++, tlbGen: 0, cpumask: [], tlbFlushPending: 0, vmas: [], notifiers: [], exiting: false, tlbFlushBatched: { pending: 0, flushed: 0 } };
        break;
      }
      case 'file':
        s.files[item.name] = { name: item.name, pages: item.pages, cache: new Array(item.pages).fill(null), anonymous: false };
        if (item.hugetlb) s.files[item.name]!.hugetlb = true;
        break;
      case 'msharefs':
        createMsharefs(s, item.name, item.owner === null ? null : mmId(item.owner));
        break;
      case 'mshare_map': {
        const f = s.mshare[item.file];
        if (!f) throw new ModelError(`setup maps into unknown msharefs file ${item.file}`);
        const host = s.mms[f.host]!;
        host.vmas.push(newInnerVma(s, f, item.offset, item.pages, item.prot));
        host.vmas.sort((a, b) => a.start - b.start);
        break;
      }
      case 'gmem':
        // kvm_gmem_create(): an empty page cache; kvm_gmem_get_folio() fills it at the first fault of each page
        s.files[item.name] = { name: item.name, pages: item.pages, cache: new Array(item.pages).fill(null), anonymous: false, gmem: true };
        break;
      case 'vm': {
        const mm = s.mms[item.proc];
        if (!mm) throw new ModelError(`setup creates a VM in unknown process ${item.proc}`);
        s.kvm ??= { vms: {}, vcpus: {}, guestTlb: {}, openStarts: [], unmatchedEnds: 0, faultsInFlight: [] };
        s.kvm.vms[item.name] = { name: item.name, mm: mm.id, memslots: item.memslots.map((m) => ({ ...m })), sptes: {}, mmuInvalidateSeq: 0, mmuInvalidateInProgress: 0, mmuInvalidateRange: null, mnActiveInvalidateCount: 0, released: false, rangeAt: {} };
        // kvm_init_mmu_notifier() -> mmu_notifier_register() before the run, unless a kvm_create_vm operation registers it (paths/mmu_notifier_register.ts)
        if (!createdAtRun.has(item.name)) mm.notifiers.push(kvmSubscription(item.name));
        break;
      }
      case 'sva_bind': {
        const mm = s.mms[item.proc];
        if (!mm) throw new ModelError(`setup binds device ${item.dev} to unknown process ${item.proc}`);
        s.sva ??= { devices: {} };
        s.sva.devices[item.dev] = { name: item.dev, mm: mm.id, atc: [], psc: [], released: false };
        mm.notifiers.push(svaSubscription(item.dev)); // iommu_sva_bind_device() -> intel_svm_domain_alloc() -> mmu_notifier_register() (before the run)
        break;
      }
      case 'zero_page': {
        // empty_zero_page is no allocator page: the highest frame, taken off the free list for good (not
        // frame 0, which the allocator hands out first and which a `page &&` test would read as no page)
        s.freeList.push(s.freeList.shift()!);
        s.zeroPfn = allocFrame(s, 'zero_page').pfn; // its one reference is never dropped
        break;
      }
      case 'swap':
        s.swap = { slots: [] }; // swapon(): an empty device, no slot in use
        break;
      case 'mmap': {
        const mm = s.mms[item.proc];
        if (!mm) throw new ModelError(`setup maps into unknown process ${item.proc}`);
        const v: Vma = { start: item.start as Vpn, end: (item.start + item.pages) as Vpn, prot: { ...item.prot }, kind: item.file ? 'shared' : 'anon', file: item.file, pgoff: item.pgoff };
        mm.vmas.push(v);
        linkFileVma(s, mm.id, v);
        mm.vmas.sort((a, b) => a.start - b.start);
        break;
      }
    }
  }
  return s;
}

function newCpu(id: number, pcids: number): Cpu {
  return {
    id,
    loadedMm: null,
    switching: false,
    isLazy: false,
    loadedSlot: -1,
    nextAsid: 0,
    slots: Array.from({ length: pcids }, () => ({ ctxId: 0, tlbGen: 0 })),
    tlb: [],
    psc: [],
    irqsOff: false,
    irqOffSeq: 0,
    inIrq: null,
    ipis: [],
    owner: null,
    curr: null,
    storeBuffer: [],
    memory: { loadedMm: null, isLazy: false },
  };
}
