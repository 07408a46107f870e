// The reference "ideal memory" (SPEC 5.1): logical pages with contents and,
// per process, va -> (logical page, prot). A system call changes it
// atomically at one linearization point inside its window [invoke,
// return]. Because the point is unknown, the oracle keeps every state
// reachable by linearizing any subset of the open calls, in any order, and
// narrows the set with each observation (a read's value, a write, a fault,
// a call's result), as Porcupine and Knossos do. It is computed from the
// observations alone and never reads the kernel model's tables or TLBs.

import type { OpRecord } from '../kernel/step.js';
import type { Prot } from '../kernel/types.js';

export interface IdealPage {
  lp: string;
  prot: Prot;
  anon: boolean;
}

/** An msharefs region: the host's pages, seen through every sharer's window. */
export interface IdealMshare {
  host: string;
  start: number;
  pages: number;
  owner: string | null;
  /** The design refuses madvise() on a range touching a window VMA (EINVAL): part of its user-visible contract. */
  madviseRefused?: boolean;
}

export interface IdealState {
  maps: Record<string, Record<number, IdealPage>>;
  contents: Record<string, number>;
  /** Sharer windows onto msharefs regions, per process. */
  windows: Record<string, { file: string; start: number }[]>;
  /**
   * Logical pages MADV_FREE made lazyfree (R3 in docs/kernel-facts.md):
   * until the next write to it, a read may return the page's contents or
   * zero (reclaim discarded it). Absent when no page is lazyfree.
   */
  lazyfree?: Record<string, true>;
}

/**
 * A translation an open call has taken away but may not have flushed yet.
 * Until that call returns, an access may still go through it (R1: stale
 * entries inside an open window), even once other observations show the
 * call has taken effect (its VMA change is visible before its flush).
 */
interface Shadow {
  op: string;
  mm: string;
  vpn: number;
  page: IdealPage;
}

interface Candidate {
  st: IdealState;
  /** Open operations already linearized in this candidate, in order. */
  lin: string[];
  /** Result each linearized operation produced here. */
  results: Record<string, string>;
  shadows: Shadow[];
  /**
   * Write pins (FOLL_WRITE) held: pin id -> the logical page it was taken
   * on. A DMA through the pin writes that page, whatever the address maps
   * by then (a fork's child, a MADV_DONTNEED or a munmap leave it behind).
   */
  pins?: Record<string, string>;
}

export interface IdealVerdict {
  ok: boolean;
  /** What the reference allows (values for a read, or "SIGSEGV" / "mapped rw" ...). */
  expected: string[];
}

/** A copy one level deep (pages and windows are replaced, never changed); for-in keeps Object.entries' key order. */
function clone(st: IdealState): IdealState {
  const maps: IdealState['maps'] = {};
  for (const m in st.maps) maps[m] = { ...st.maps[m] };
  const windows: IdealState['windows'] = {};
  for (const m in st.windows) windows[m] = [...st.windows[m]!];
  return st.lazyfree ? { maps, contents: { ...st.contents }, windows, lazyfree: { ...st.lazyfree } } : { maps, contents: { ...st.contents }, windows };
}

/**
 * A guest_memfd's pages in the ideal memory: a process of its own, named
 * after the file, whose page i is the file's page i. A guest access to a
 * gfn of a guest_memfd-backed memslot is checked there, whatever the VMM
 * maps at the slot's hva; only a punch hole changes it.
 */
export const gmemIdealMm = (file: string) => `gmem:${file}`;

/** What `mm` sees at `vpn`: its own page, or the host's page through an msharefs window. */
export function resolve(st: IdealState, ms: Record<string, IdealMshare>, mm: string, vpn: number): IdealPage | undefined {
  for (const w of st.windows[mm] ?? []) {
    const r = ms[w.file]!;
    if (vpn >= w.start && vpn < w.start + r.pages) return st.maps[r.host]?.[r.start + vpn - w.start];
  }
  return st.maps[mm]?.[vpn];
}

const overlapsWindow = (st: IdealState, ms: Record<string, IdealMshare>, mm: string, a: number, b: number) =>
  (st.windows[mm] ?? []).filter((w) => w.start < b && a < w.start + ms[w.file]!.pages);

/** The effect of one system call at its linearization point; returns its result. */
export function applyOp(st: IdealState, op: OpRecord, ms: Record<string, IdealMshare> = {}): string {
  const pages = (st.maps[op.mm] ??= {});
  const end = op.start + op.pages;
  const wins = overlapsWindow(st, ms, op.mm, op.start, end);
  const inWindow = (v: number) => wins.some((w) => v >= w.start && v < w.start + ms[w.file]!.pages);
  switch (op.kind) {
    case 'mmap': {
      for (let v = op.start; v < end; v++) if (pages[v]) return 'EEXIST';
      if (wins.length) return 'EEXIST';
      for (let v = op.start; v < end; v++) {
        const lp = op.file ? `file:${op.file}:${op.pgoff + v - op.start}` : `anon:${op.id}:${v}`;
        pages[v] = { lp, prot: { ...op.prot! }, anon: !op.file };
      }
      return 'ok';
    }
    case 'attach': {
      for (let v = op.start; v < end; v++) if (pages[v]) return 'EEXIST';
      if (wins.length) return 'EEXIST';
      (st.windows[op.mm] ??= []).push({ file: op.file!, start: op.start });
      return 'ok';
    }
    case 'munmap':
      if (wins.some((w) => w.start < op.start || w.start + ms[w.file]!.pages > end)) return 'EINVAL'; // may_split
      st.windows[op.mm] = (st.windows[op.mm] ?? []).filter((w) => !wins.includes(w));
      for (let v = op.start; v < end; v++) delete pages[v];
      return 'ok';
    case 'madvise': {
      if (wins.some((w) => ms[w.file]!.madviseRefused)) return 'EINVAL'; // the design refuses madvise on a window VMA
      // MADV_DONTNEED: private anonymous pages read back as zero; shared (file, shmem) pages keep their data.
      let hole = false;
      for (let v = op.start; v < end; v++) {
        if (inWindow(v)) continue;
        const p = pages[v];
        if (!p) hole = true;
        else if (p.anon) pages[v] = { ...p, lp: `anon:${op.id}:${v}` };
      }
      return hole ? 'ENOMEM' : 'ok';
    }
    case 'madv_free': {
      // MADV_FREE (paths/madvise_free.ts): page by page, as madvise_walk_vmas() goes VMA by VMA; a
      // page that is not private anonymous (vma_is_anonymous() false) fails the call with EINVAL, the
      // pages before it advised; a hole gives ENOMEM at the end. Advised pages become lazyfree (R3).
      // An mshare window is not anonymous either (msharefs_mmap() gives it vm_ops): EINVAL there too.
      let hole = false;
      for (let v = op.start; v < end; v++) {
        if (inWindow(v)) return 'EINVAL';
        const p = pages[v];
        if (!p) hole = true;
        else if (!p.anon) return 'EINVAL';
        else (st.lazyfree ??= {})[p.lp] = true;
      }
      return hole ? 'ENOMEM' : 'ok';
    }
    case 'mprotect':
      if (wins.length) return 'EINVAL'; // msharefs vm_ops->mprotect
      // Applied page by page up to the first hole, which fails the call with ENOMEM.
      for (let v = op.start; v < end; v++) {
        const p = pages[v];
        if (!p) return 'ENOMEM';
        pages[v] = { ...p, prot: { ...op.prot! } };
      }
      return 'ok';
    case 'mshare_map': {
      const r = ms[op.file!]!;
      const host = (st.maps[r.host] ??= {});
      for (let i = 0; i < op.pages; i++) host[r.start + op.start + i] = { lp: `shm:${op.id}:${i}`, prot: { ...op.prot! }, anon: false };
      return 'ok';
    }
    case 'mshare_unmap': {
      const r = ms[op.file!]!;
      const host = (st.maps[r.host] ??= {});
      for (let i = 0; i < op.pages; i++) delete host[r.start + op.start + i];
      return 'ok';
    }
    case 'fork': {
      // dup_mmap(): the child gets every mapping of the parent; a private anonymous page becomes a
      // page of its own holding what the parent's held at this point, a shared (file, shmem) page
      // stays the same page (paths/fork.ts; COW is invisible to the user)
      const child: Record<number, IdealPage> = (st.maps[op.child!] = {});
      if (st.windows[op.mm]?.length) st.windows[op.child!] = [...st.windows[op.mm]!]; // a window VMA is inherited like any shared mapping
      for (const [v, p] of Object.entries(pages)) {
        if (!p.anon) {
          child[Number(v)] = p;
          continue;
        }
        const lp = `fork:${op.id}:${v}`;
        child[Number(v)] = { ...p, lp };
        if (st.contents[p.lp] !== undefined) st.contents[lp] = st.contents[p.lp]!;
        if (st.lazyfree?.[p.lp]) st.lazyfree[lp] = true; // the child shares the lazyfree folio until a COW (R3)
      }
      return 'ok';
    }
    case 'mremap': {
      // mremap(MREMAP_MAYMOVE | MREMAP_FIXED), old_len == new_len (paths/mremap.ts): overlapping
      // ranges fail check_mremap_params(); no VMA at the first page is remap_move()'s -EFAULT; then
      // each mapped page moves with its contents to the same offset of the target, replacing what
      // was there, and a page of a gap leaves its target page alone (d23cb648e365 keeps the gaps)
      const to = op.to!;
      if (op.start < to + op.pages && to < end) return 'EINVAL';
      if (wins.length || overlapsWindow(st, ms, op.mm, to, to + op.pages).length) return 'EINVAL';
      if (!pages[op.start]) return 'EFAULT';
      for (let i = 0; i < op.pages; i++) {
        const p = pages[op.start + i];
        if (!p) continue;
        pages[to + i] = p;
        delete pages[op.start + i];
      }
      return 'ok';
    }
    case 'gmem_punch_hole': {
      // kvm_gmem_punch_hole(): the hole's pages read as zero afterwards (new pages at the next fault)
      const g = (st.maps[gmemIdealMm(op.file!)] ??= {});
      for (let i = op.start; i < end; i++) g[i] = { lp: `gmem:${op.id}:${i}`, prot: { r: true, w: true }, anon: false };
      return 'ok';
    }
    case 'exit':
      for (const r of Object.values(ms)) if (r.owner === op.mm) st.maps[r.host] = {}; // exit_mshare()
      st.maps[op.mm] = {};
      st.windows[op.mm] = [];
      return 'ok';
  }
}

/** Every (mm, vpn) -> page any process can see, for diffing a linearization. */
function view(st: IdealState, ms: Record<string, IdealMshare>): Map<string, IdealPage> {
  const out = new Map<string, IdealPage>();
  for (const mm in st.maps) {
    const pages = st.maps[mm]!;
    for (const v in pages) out.set(`${mm}|${v}`, pages[v]!);
  }
  for (const mm in st.windows) {
    const ws = st.windows[mm]!;
    for (const w of ws) {
      const r = ms[w.file]!;
      for (let i = 0; i < r.pages; i++) {
        const p = st.maps[r.host]?.[r.start + i];
        if (p) out.set(`${mm}|${w.start + i}`, p);
      }
    }
  }
  return out;
}

/**
 * A state is never changed once it is a candidate's (a write makes a new
 * one; linearize() changes its own copy before any candidate holds it), so
 * what is derived from it alone is computed once per state: its view and
 * its serialization, which the candidates made from it by ret() and by
 * reads share.
 */
const views = new WeakMap<IdealState, Map<string, IdealPage>>();
const stJson = new WeakMap<IdealState, string>();

function viewOf(st: IdealState, ms: Record<string, IdealMshare>): Map<string, IdealPage> {
  let v = views.get(st);
  if (!v) views.set(st, (v = view(st, ms)));
  return v;
}

/** JSON.stringify([c.st, [...c.lin].sort(), c.results, c.shadows(, c.pins)]), the state's part computed once per state. */
function key(c: Candidate): string {
  let st = stJson.get(c.st);
  if (st === undefined) stJson.set(c.st, (st = JSON.stringify(c.st)));
  return `[${st},${JSON.stringify([...c.lin].sort())},${JSON.stringify(c.results)},${JSON.stringify(c.shadows)}${c.pins ? `,${JSON.stringify(c.pins)}` : ''}]`;
}

/** `st` after a write of `value` to logical page `lp`: contents only (maps and windows are shared), and R3's lazyfree mark gone. */
function written(st: IdealState, lp: string, value: number): IdealState {
  const out: IdealState = { maps: st.maps, contents: { ...st.contents, [lp]: value }, windows: st.windows };
  const lazy = st.lazyfree;
  if (lazy?.[lp]) {
    // R3: the write makes the page exact again (a dirty PTE or a new page after a discard)
    const rest = { ...lazy };
    delete rest[lp];
    if (Object.keys(rest).length > 0) out.lazyfree = rest;
  } else if (lazy) out.lazyfree = lazy;
  return out;
}

/** Linearize `op` in `c`: a new candidate with its effect and the shadows of every translation it took away. */
function linearize(c: Candidate, op: OpRecord, ms: Record<string, IdealMshare>): Candidate {
  const before = viewOf(c.st, ms);
  const st = clone(c.st);
  const r = applyOp(st, op, ms);
  const after = viewOf(st, ms); // st is final from here on
  const shadows = [...c.shadows];
  for (const [key, page] of before) {
    const now = after.get(key);
    if (now && now.lp === page.lp && now.prot.r === page.prot.r && now.prot.w === page.prot.w) continue;
    const [mm, v] = key.split('|') as [string, string];
    shadows.push({ op: op.id, mm, vpn: Number(v), page });
  }
  return { st, lin: [...c.lin, op.id], results: { ...c.results, [op.id]: r }, shadows, ...(c.pins ? { pins: c.pins } : {}) };
}

export class IdealMemory {
  private cands: Candidate[];
  private open: OpRecord[] = [];
  /**
   * Candidates are never changed once made, and linearize() and key() are
   * functions of them: each is computed once per candidate (and call), not
   * again at every observation that keeps the candidate. The sets and their
   * order are the ones a fresh computation gives.
   */
  private readonly linearized = new WeakMap<Candidate, Map<OpRecord, Candidate>>();
  private readonly keys = new WeakMap<Candidate, string>();

  constructor(
    initial: IdealState,
    private readonly ms: Record<string, IdealMshare> = {},
  ) {
    this.cands = [{ st: clone(initial), lin: [], results: {}, shadows: [] }];
  }

  get openOps(): readonly OpRecord[] {
    return this.open;
  }

  get candidates(): number {
    return this.cands.length;
  }

  /** Everything the reference holds (the explorer's state key): the candidate states and the open calls. */
  snapshot(): unknown {
    return { cands: this.cands, open: this.open };
  }

  invoke(op: OpRecord): void {
    this.open.push(op);
  }

  /** The call returned `result`: linearize it wherever it has not been yet, keep the states that agree. */
  ret(opId: string, result: string): IdealVerdict {
    const op = this.open.find((o) => o.id === opId);
    if (!op) return { ok: true, expected: [] };
    // Other open calls may have taken effect before this one did.
    const cands = this.expand();
    this.open = this.open.filter((o) => o !== op);
    const seen: string[] = [];
    const next: Candidate[] = [];
    for (const c0 of cands) {
      const c = c0.lin.includes(opId) ? c0 : this.linearize(c0, op);
      const r = c.results[opId]!;
      seen.push(r);
      if (r !== result) continue;
      const results = { ...c.results };
      delete results[opId];
      next.push({ st: c.st, lin: c.lin.filter((x) => x !== opId), results, shadows: c.shadows.filter((x) => x.op !== opId), ...(c.pins ? { pins: c.pins } : {}) });
    }
    return this.narrow(next, [...new Set(seen)].sort());
  }

  /** A user access observed at one step: `ok` false is a fault (SIGSEGV). */
  access(mm: string, vpn: number, write: boolean, value: number, ok: boolean): IdealVerdict {
    const expected = new Set<string>();
    const next: Candidate[] = [];
    for (const c of this.expand()) {
      const cur = resolve(c.st, this.ms, mm, vpn);
      const permits = (p: IdealPage | undefined): p is IdealPage => !!p && (write ? p.prot.w : p.prot.r);
      if (!ok) {
        // a fault means the walk found no permitting PTE: the current state must agree
        if (!permits(cur)) next.push(c);
        expected.add(permits(cur) ? (write ? 'write allowed' : `value ${c.st.contents[cur.lp] ?? 0}`) : 'SIGSEGV');
        continue;
      }
      const ways = [cur, ...c.shadows.filter((x) => x.mm === mm && x.vpn === vpn).map((x) => x.page)].filter(permits);
      if (ways.length === 0) expected.add('SIGSEGV');
      for (const p of ways) {
        if (write) {
          expected.add('write allowed');
          // a write changes contents only (no candidate's state is changed once made)
          next.push({ ...c, st: written(c.st, p.lp, value) });
        } else {
          const v = c.st.contents[p.lp] ?? 0;
          expected.add(`value ${v}`);
          // R3: a lazyfree page may also read zero, discarded by reclaim
          if (c.st.lazyfree?.[p.lp] && v !== 0) expected.add('value 0');
          if (v === value || (value === 0 && c.st.lazyfree?.[p.lp])) next.push(c);
        }
      }
    }
    return this.narrow(next, [...expected].sort());
  }

  /**
   * A write pin taken at `vpn` of `mm`: the walk found a PTE that allows
   * writes, so the address maps a writable page here (or, as for an access,
   * through a translation an open call took away: R1). Each way it can is
   * a candidate, holding the pin on that page.
   */
  pin(pin: string, mm: string, vpn: number): IdealVerdict {
    const expected = new Set<string>();
    const next: Candidate[] = [];
    for (const c of this.expand()) {
      const cur = resolve(c.st, this.ms, mm, vpn);
      const ways = [cur, ...c.shadows.filter((x) => x.mm === mm && x.vpn === vpn).map((x) => x.page)].filter((p): p is IdealPage => !!p && p.prot.w);
      expected.add(ways.length > 0 ? 'pin allowed' : 'no writable page');
      for (const p of ways) next.push({ ...c, pins: { ...c.pins, [pin]: p.lp } });
    }
    return this.narrow(next, [...expected].sort());
  }

  /** The device wrote `value` through pin `pin`: the pinned page holds it, in every order of the open calls. */
  dma(pin: string, value: number): IdealVerdict {
    const next = this.expand().map((c) => (c.pins?.[pin] === undefined ? c : { ...c, st: written(c.st, c.pins[pin]!, value) }));
    return this.narrow(next, ['write allowed']);
  }

  /** The pin is dropped: what it held no longer matters. */
  unpin(pin: string): IdealVerdict {
    const next = this.cands.map((c) => {
      if (c.pins?.[pin] === undefined) return c;
      const pins = { ...c.pins };
      delete pins[pin];
      const out: Candidate = { st: c.st, lin: c.lin, results: c.results, shadows: c.shadows };
      if (Object.keys(pins).length > 0) out.pins = pins;
      return out;
    });
    return this.narrow(next, []);
  }

  private narrow(next: Candidate[], expected: string[]): IdealVerdict {
    if (next.length === 0) return { ok: false, expected };
    if (next.length === 1) {
      this.cands = next; // nothing to merge
      return { ok: true, expected };
    }
    const byKey = new Map<string, Candidate>();
    for (const c of next) byKey.set(this.key(c), c);
    this.cands = [...byKey.values()];
    return { ok: true, expected };
  }

  private linearize(c: Candidate, op: OpRecord): Candidate {
    let byOp = this.linearized.get(c);
    if (!byOp) this.linearized.set(c, (byOp = new Map()));
    let out = byOp.get(op);
    if (!out) byOp.set(op, (out = linearize(c, op, this.ms)));
    return out;
  }

  private key(c: Candidate): string {
    let k = this.keys.get(c);
    if (k === undefined) this.keys.set(c, (k = key(c)));
    return k;
  }

  /** Every candidate extended by linearizing any sequence of its not-yet-linearized open calls. */
  private expand(): Candidate[] {
    const out: Candidate[] = [];
    const go = (c: Candidate) => {
      out.push(c);
      for (const op of this.open) if (!c.lin.includes(op.id)) go(this.linearize(c, op));
    };
    for (const c of this.cands) go(c);
    return out;
  }
}
