// Unit tests of the ideal memory (SPEC 5.1), private mappings. Every
// expectation is derived by hand from the rule quoted in its comment, not
// from the oracle's output: a call takes effect atomically at one point of
// its window [invoke, return]; an access may see any state reached by
// linearizing a subset of the open calls in an order consistent with their
// invocations; an open call's removed translation stays usable until that
// call returns (R1, research/tlb-kvm.md: a stale TLB entry inside the
// window). The msharefs cases are in ideal_mshare.test.ts.

import { describe, expect, it } from 'vitest';
import type { OpRecord } from '../kernel/step.js';
import { mmId, type Prot } from '../kernel/types.js';
import { IdealMemory, type IdealPage } from './ideal.js';

const RW: Prot = { r: true, w: true };
const RO: Prot = { r: true, w: false };
const NONE: Prot = { r: false, w: false };
const page = (lp: string, prot: Prot = RW, anon = true): IdealPage => ({ lp, prot, anon });
const call = (id: string, kind: OpRecord['kind'], start: number, pages = 1, more: Partial<OpRecord> = {}): OpRecord =>
  ({ id, kind, mm: mmId('P0'), start, pages, prot: kind === 'mmap' || kind === 'mprotect' ? RW : null, file: null, pgoff: 0, ...more });
/** P0 with the given pages, nothing written yet (every page reads 0). */
const memory = (pages: Record<number, IdealPage>) => new IdealMemory({ maps: { P0: pages }, contents: {}, windows: {} });
const read = (m: IdealMemory, vpn: number, value: number) => m.access('P0', vpn, false, value, true);
const write = (m: IdealMemory, vpn: number, value: number) => m.access('P0', vpn, true, value, true);
const fault = (m: IdealMemory, vpn: number, isWrite = false) => m.access('P0', vpn, isWrite, 0, false);
const allowed = (...expected: string[]) => ({ ok: true, expected });
const violation = (...expected: string[]) => ({ ok: false, expected });

describe('ideal memory: values outside any window', () => {
  it('returns the last value written and nothing older', () => {
    const m = memory({ 16: page('a') });
    expect(read(m, 16, 0)).toEqual(allowed('value 0')); // contents start at 0
    expect(write(m, 16, 5)).toEqual(allowed('write allowed')); // a rw mapping permits the store; writes store unique values
    expect(write(m, 16, 6)).toEqual(allowed('write allowed')); // a rw mapping permits the store
    expect(read(m, 16, 5)).toEqual(violation('value 6')); // writes store unique values: a lost write shows
    expect(read(m, 16, 6)).toEqual(allowed('value 6')); // the last value stored
  });

  it('allows a fault only where no mapping permits the access', () => {
    const m = memory({ 16: page('a', RO) });
    expect(fault(m, 16)).toEqual(violation('value 0')); // no open call: the mapping is there
    expect(fault(m, 16, true)).toEqual(allowed('SIGSEGV')); // prot r: a write faults
    expect(write(m, 16, 1)).toEqual(violation('SIGSEGV')); // prot r: no state permits the write
    expect(read(m, 17, 0)).toEqual(violation('SIGSEGV')); // never mapped
  });

  it('gives a call no effect before it is invoked', () => {
    const m = memory({});
    expect(read(m, 16, 0)).toEqual(violation('SIGSEGV')); // windows are [invoke, return]: not yet open
    m.invoke(call('T0.0', 'mmap', 16));
    expect(read(m, 16, 0)).toEqual(allowed('SIGSEGV', 'value 0')); // open: either subset {} (no page) or {mmap} (the new page)
  });
});

describe('ideal memory: windows [invoke, return]', () => {
  it('lets an access inside an munmap window see the page or fault, and only fault after the return', () => {
    const seen = memory({ 16: page('a') });
    seen.invoke(call('T0.0', 'munmap', 16));
    expect(read(seen, 16, 0)).toEqual(allowed('value 0')); // subset {}, or {munmap} through the page it removed (R1)
    expect(seen.ret('T0.0', 'ok')).toEqual(allowed('ok')); // munmap succeeds in every linearization
    expect(read(seen, 16, 0)).toEqual(violation('SIGSEGV')); // after the return it has taken effect
    expect(fault(seen, 16)).toEqual(allowed('SIGSEGV')); // after the return every state has the page unmapped

    const faulted = memory({ 16: page('a') });
    faulted.invoke(call('T0.0', 'munmap', 16));
    expect(fault(faulted, 16)).toEqual(allowed('SIGSEGV', 'value 0')); // subset {munmap}: linearized before the return
  });

  it('lets an access inside an mmap window fault or see the new page, and never fault after the return', () => {
    const m = memory({});
    m.invoke(call('T0.0', 'mmap', 16));
    expect(fault(m, 16)).toEqual(allowed('SIGSEGV', 'value 0')); // linearizing at invoke would be a defect
    expect(read(m, 16, 0)).toEqual(allowed('SIGSEGV', 'value 0')); // linearizing at return would be a defect
    expect(m.ret('T0.0', 'ok')).toEqual(allowed('ok')); // mmap of a free range succeeds in every linearization
    expect(fault(m, 16)).toEqual(violation('value 0')); // after the return the new page is there in every state
  });

  it('applies a call once: after its effect is seen, the old state does not come back', () => {
    const m = memory({});
    m.invoke(call('T0.0', 'mmap', 16));
    expect(read(m, 16, 0)).toEqual(allowed('SIGSEGV', 'value 0')); // subset {} or {mmap}
    expect(fault(m, 16)).toEqual(violation('value 0')); // atomic at one point; an mmap takes no translation away
  });

  it('checks a call result against every linearization, and rejects one no order gives', () => {
    const m = memory({ 16: page('a') });
    m.invoke(call('T0.0', 'munmap', 16));
    expect(m.ret('T0.0', 'ENOMEM')).toEqual(violation('ok')); // munmap of a mapped page succeeds
    const n = memory({});
    expect(n.ret('T0.9', 'ok')).toEqual(allowed()); // a return with no invoke is not the oracle's to judge
  });
});

describe('ideal memory: shadows of removed translations', () => {
  it('lets an access use the page an open munmap removed until that munmap returns, and not after', () => {
    const m = memory({ 16: page('a') });
    expect(write(m, 16, 7)).toEqual(allowed('write allowed')); // rw mapping, no open call
    m.invoke(call('T0.0', 'munmap', 16));
    expect(fault(m, 16)).toEqual(allowed('SIGSEGV', 'value 7')); // now only the linearized state remains
    expect(read(m, 16, 7)).toEqual(allowed('value 7')); // shadow: a stale TLB entry inside the window (R1)
    expect(read(m, 16, 0)).toEqual(violation('value 7')); // the shadow is the old page, with its contents
    expect(write(m, 16, 8)).toEqual(allowed('write allowed')); // the write goes to the old page through the shadow (R1)
    expect(m.ret('T0.0', 'ok')).toEqual(allowed('ok')); // munmap of a mapped page succeeds
    expect(read(m, 16, 8)).toEqual(violation('SIGSEGV')); // the shadow ends when its call returns
  });

  it('lets a write through the old protection inside an mprotect window, and not after it returns', () => {
    const m = memory({ 16: page('a') });
    m.invoke(call('T0.0', 'mprotect', 16, 1, { prot: RO }));
    expect(write(m, 16, 9)).toEqual(allowed('write allowed')); // linearized or not, rw is still usable
    expect(fault(m, 16, true)).toEqual(allowed('SIGSEGV', 'write allowed')); // a write fault means it is linearized
    expect(write(m, 16, 10)).toEqual(allowed('write allowed')); // through the shadow of the rw translation
    expect(m.ret('T0.0', 'ok')).toEqual(allowed('ok')); // mprotect of a mapped page succeeds
    expect(write(m, 16, 11)).toEqual(violation('SIGSEGV')); // shadows end at the return
    expect(read(m, 16, 10)).toEqual(allowed('value 10')); // prot r: reads still allowed, with the last value written through the shadow
  });

  it("ends a shadow at its own call's return, though other calls stay open", () => {
    const m = memory({ 16: page('a'), 20: page('b') });
    m.invoke(call('T0.0', 'munmap', 16));
    m.invoke(call('T1.0', 'mprotect', 20, 1, { prot: RO }));
    expect(fault(m, 16)).toEqual(allowed('SIGSEGV', 'value 0')); // subset {} or {munmap}
    expect(m.ret('T0.0', 'ok')).toEqual(allowed('ok')); // munmap of a mapped page succeeds
    expect(read(m, 16, 0)).toEqual(violation('SIGSEGV')); // T0.0 returned: its shadow is gone
    expect(write(m, 20, 1)).toEqual(allowed('write allowed')); // T1.0 is open: its shadow stays
  });

  it('keeps a shadow to the process and page its call removed', () => {
    const m = new IdealMemory({ maps: { P0: { 16: page('a') }, P1: {} }, contents: {}, windows: {} });
    m.invoke(call('T0.0', 'munmap', 16, 2));
    expect(fault(m, 16)).toEqual(allowed('SIGSEGV', 'value 0')); // subset {} or {munmap}
    expect(read(m, 17, 0)).toEqual(violation('SIGSEGV')); // 17 was never mapped: nothing to shadow
    expect(m.access('P1', 16, false, 0, true)).toEqual(violation('SIGSEGV')); // another mm never had the page
  });
});

describe('ideal memory: linearizing subsets of the open calls', () => {
  it('allows every subset of two open mmaps to have taken effect', () => {
    for (const [at16, at17] of [[true, false], [false, true], [true, true], [false, false]] as const) {
      const m = memory({});
      m.invoke(call('T0.0', 'mmap', 16));
      m.invoke(call('T1.0', 'mmap', 17));
      // each call may or may not be linearized, independently of the other
      expect(at16 ? read(m, 16, 0) : fault(m, 16)).toEqual(allowed('SIGSEGV', 'value 0')); // a subset of {T0.0, T1.0} with or without T0.0
      expect(at17 ? read(m, 17, 0) : fault(m, 17)).toEqual(allowed('SIGSEGV', 'value 0')); // a subset with or without T1.0, whatever was seen at 16
    }
  });

  it('allows two open mprotects of one page in either order, and keeps to the order an access showed', () => {
    const both = () => {
      const m = memory({ 16: page('a') });
      m.invoke(call('T0.0', 'mprotect', 16, 1, { prot: RO }));
      m.invoke(call('T1.0', 'mprotect', 16, 1, { prot: NONE }));
      expect(m.ret('T0.0', 'ok')).toEqual(allowed('ok')); // mprotect of a mapped page succeeds in either order
      expect(m.ret('T1.0', 'ok')).toEqual(allowed('ok')); // and so does the second
      return m;
    };
    const noneLast = both();
    expect(fault(noneLast, 16)).toEqual(allowed('SIGSEGV', 'value 0')); // r then none, or none then r
    expect(read(noneLast, 16, 0)).toEqual(violation('SIGSEGV')); // the fault fixed the order: none last
    const rLast = both();
    expect(read(rLast, 16, 0)).toEqual(allowed('SIGSEGV', 'value 0')); // r last gives value 0, none last gives SIGSEGV
    expect(fault(rLast, 16)).toEqual(violation('value 0')); // the read fixed the order: r last
  });

  it('derives results from the order: of two open mmaps of one page exactly one succeeds', () => {
    const first = memory({});
    first.invoke(call('T0.0', 'mmap', 16));
    first.invoke(call('T1.0', 'mmap', 16));
    expect(first.ret('T0.0', 'EEXIST')).toEqual(allowed('EEXIST', 'ok')); // T1.0 may have gone first
    expect(first.ret('T1.0', 'EEXIST')).toEqual(violation('ok')); // ...and then it must have succeeded
    const second = memory({});
    second.invoke(call('T0.0', 'mmap', 16));
    second.invoke(call('T1.0', 'mmap', 16));
    expect(second.ret('T0.0', 'ok')).toEqual(allowed('EEXIST', 'ok')); // T0.0 first (ok), or after T1.0 (EEXIST)
    expect(second.ret('T1.0', 'ok')).toEqual(violation('EEXIST')); // T0.0 took the page first, so T1.0 must fail
  });

  it('orders a call after one that returned before it was invoked', () => {
    const m = memory({ 16: page('a') });
    m.invoke(call('T0.0', 'munmap', 16));
    expect(m.ret('T0.0', 'ok')).toEqual(allowed('ok')); // munmap of a mapped page succeeds
    m.invoke(call('T1.0', 'mmap', 16));
    expect(m.ret('T1.0', 'EEXIST')).toEqual(violation('ok')); // consistent with invocations: munmap came first
  });
});

describe('ideal memory: failed calls', () => {
  it('gives an mmap over an existing mapping no effect: EEXIST, the old page and its data stay', () => {
    const open = () => {
      const m = memory({ 16: page('a') });
      write(m, 16, 3);
      m.invoke(call('T0.0', 'mmap', 16, 1, { file: 'F' }));
      return m;
    };
    const m = open();
    expect(read(m, 16, 0)).toEqual(violation('value 3')); // failed its checks: no linearization maps file F
    expect(fault(m, 16)).toEqual(violation('value 3')); // and none unmaps the page
    expect(m.ret('T0.0', 'EEXIST')).toEqual(allowed('EEXIST')); // the only result any order gives
    expect(read(m, 16, 3)).toEqual(allowed('value 3')); // the old page and its data stayed
    expect(open().ret('T0.0', 'ok')).toEqual(violation('EEXIST')); // no linearization lets an mmap over a mapping succeed
  });

  it('keeps what an mprotect changed before a hole, which fails it with ENOMEM (mm/mprotect.c do_mprotect_pkey)', () => {
    const m = memory({ 16: page('a') });
    m.invoke(call('T0.0', 'mprotect', 16, 2, { prot: RO }));
    expect(m.ret('T0.0', 'ENOMEM')).toEqual(allowed('ENOMEM')); // 17 is a hole
    expect(write(m, 16, 1)).toEqual(violation('SIGSEGV')); // the VMA before the hole was changed
    const wrong = memory({ 16: page('a') });
    wrong.invoke(call('T0.0', 'mprotect', 16, 2, { prot: RO }));
    expect(wrong.ret('T0.0', 'ok')).toEqual(violation('ENOMEM')); // 17 is a hole in every linearization
  });
});

describe('ideal memory: MADV_DONTNEED', () => {
  it('zeroes a private anonymous page at its linearization point; the old data stays usable until the return', () => {
    const m = memory({ 16: page('a') });
    write(m, 16, 5);
    m.invoke(call('T0.0', 'madvise', 16));
    expect(read(m, 16, 0)).toEqual(allowed('value 0', 'value 5')); // zeroed or not yet
    expect(read(m, 16, 5)).toEqual(allowed('value 0', 'value 5')); // zeroed, with the old page still usable (R1)
    expect(m.ret('T0.0', 'ok')).toEqual(allowed('ok')); // MADV_DONTNEED of a mapped page succeeds
    expect(read(m, 16, 5)).toEqual(violation('value 0')); // after the return the anonymous page reads as zero
  });

  it('keeps the data of a shared file page', () => {
    const m = memory({ 16: page('file:F:0', RW, false) });
    write(m, 16, 5);
    m.invoke(call('T0.0', 'madvise', 16));
    expect(read(m, 16, 0)).toEqual(violation('value 5')); // shared pages are dropped from the tables, not zeroed
    expect(m.ret('T0.0', 'ok')).toEqual(allowed('ok')); // MADV_DONTNEED of a mapped page succeeds
    expect(read(m, 16, 5)).toEqual(allowed('value 5')); // shared data survives
  });

  it('zeroes the mapped pages and fails with ENOMEM over a hole (mm/madvise.c madvise_walk_vmas)', () => {
    const m = memory({ 16: page('a') });
    write(m, 16, 5);
    m.invoke(call('T0.0', 'madvise', 16, 2));
    expect(m.ret('T0.0', 'ENOMEM')).toEqual(allowed('ENOMEM')); // the hole fails the call in every linearization
    expect(read(m, 16, 5)).toEqual(violation('value 0')); // the mapped page before the hole was still zeroed
  });
});

describe('ideal memory: MADV_FREE (R3: old value or zero until the next write)', () => {
  it('lets a read return the old value or zero, in any order, until the next write', () => {
    const m = memory({ 16: page('a') });
    write(m, 16, 5);
    m.invoke(call('T0.0', 'madv_free', 16));
    expect(m.ret('T0.0', 'ok')).toEqual(allowed('ok'));
    expect(read(m, 16, 5)).toEqual(allowed('value 0', 'value 5')); // not discarded (yet)
    expect(read(m, 16, 0)).toEqual(allowed('value 0', 'value 5')); // discarded by reclaim
    expect(read(m, 16, 5)).toEqual(allowed('value 0', 'value 5')); // another CPU's stale entry in the batched-flush window
    expect(read(m, 16, 7)).toEqual(violation('value 0', 'value 5')); // nothing else
  });

  it('is exact again after a write', () => {
    const m = memory({ 16: page('a') });
    write(m, 16, 5);
    m.invoke(call('T0.0', 'madv_free', 16));
    m.ret('T0.0', 'ok');
    write(m, 16, 6);
    expect(read(m, 16, 0)).toEqual(violation('value 6')); // a redirtied folio is kept
    expect(read(m, 16, 6)).toEqual(allowed('value 6'));
  });

  it('lets a read during the call still see the data exactly, or zero once linearized', () => {
    const m = memory({ 16: page('a') });
    write(m, 16, 5);
    m.invoke(call('T0.0', 'madv_free', 16));
    expect(read(m, 16, 0)).toEqual(allowed('value 0', 'value 5')); // linearized and discarded
    expect(m.ret('T0.0', 'ok')).toEqual(allowed('ok'));
  });

  it('fails with EINVAL on a page that is not private anonymous, the pages before it advised', () => {
    const m = memory({ 16: page('a'), 17: page('file:F:0', RW, false) });
    write(m, 16, 5);
    write(m, 17, 6);
    m.invoke(call('T0.0', 'madv_free', 16, 2));
    expect(m.ret('T0.0', 'EINVAL')).toEqual(allowed('EINVAL'));
    expect(read(m, 16, 0)).toEqual(allowed('value 0', 'value 5'));
    expect(read(m, 17, 0)).toEqual(violation('value 6')); // the file page keeps its data
  });

  it('passes the lazyfree state to a fork child until one of them writes', () => {
    const m = memory({ 16: page('a') });
    write(m, 16, 5);
    m.invoke(call('T0.0', 'madv_free', 16));
    m.ret('T0.0', 'ok');
    m.invoke(call('T0.1', 'fork', 0, 64, { child: mmId('C0') }));
    m.ret('T0.1', 'ok');
    write(m, 16, 6); // the parent's COW: its page is exact again
    expect(read(m, 16, 0)).toEqual(violation('value 6'));
    expect(m.access('C0', 16, false, 0, true)).toEqual(allowed('value 0', 'value 5')); // the child still maps the lazyfree folio
  });
});

describe('ideal memory: exit', () => {
  it("takes the process's pages away at one point of its window", () => {
    const m = memory({ 16: page('a'), 17: page('b') });
    m.invoke(call('T0.0', 'exit', 0, 64));
    expect(fault(m, 16)).toEqual(allowed('SIGSEGV', 'value 0')); // subset {} or {exit}
    expect(read(m, 17, 0)).toEqual(allowed('value 0')); // shadow until the return
    expect(m.ret('T0.0', 'ok')).toEqual(allowed('ok')); // exit always succeeds
    expect(read(m, 17, 0)).toEqual(violation('SIGSEGV')); // after the return no state maps anything of P0
  });
});

describe('ideal memory: fork (a copy of private memory at one point of the window)', () => {
  const forkCall = (id: string) => call(id, 'fork', 0, 256, { child: 'C' });
  const childRead = (m: IdealMemory, vpn: number, value: number) => m.access('C', vpn, false, value, true);

  it('gives the child what a private page held at the fork, and keeps later writes private; a shared page stays shared', () => {
    const m = memory({ 16: page('a'), 17: page('file:F:0', RW, false) });
    write(m, 16, 1);
    m.invoke(forkCall('f'));
    expect(m.ret('f', 'ok')).toEqual(allowed('ok'));
    write(m, 16, 2); // after fork returned: the parent's own copy
    write(m, 17, 3); // a shared mapping: both see it
    expect(childRead(m, 16, 2)).toEqual(violation('value 1')); // the child's copy was taken at the fork
    expect(childRead(m, 16, 1)).toEqual(allowed('value 1'));
    expect(childRead(m, 17, 3)).toEqual(allowed('value 3'));
  });

  it('lets a write inside the open window land before or after the copy, but not both ways for two writes in order', () => {
    const m = memory({ 16: page('a'), 20: page('b') });
    m.invoke(forkCall('f'));
    write(m, 16, 1); // inside the window: the fork may take effect before or after each write
    write(m, 20, 2);
    expect(m.ret('f', 'ok')).toEqual(allowed('ok'));
    expect(childRead(m, 20, 2)).toEqual(allowed('value 0', 'value 2')); // after the second write...
    expect(childRead(m, 16, 0)).toEqual(violation('value 1')); // ...so after the first: the earlier write must show
  });
});

describe('ideal memory: mremap (the data moves with the mapping)', () => {
  const move = (id: string, start: number, to: number, pages: number) => call(id, 'mremap', start, pages, { to });

  it('reads the moved data at the target and faults at the source once the call returned', () => {
    const m = memory({ 16: page('a'), 17: page('b'), 32: page('c') });
    write(m, 16, 1);
    write(m, 32, 3);
    m.invoke(move('r', 16, 32, 2));
    expect(m.ret('r', 'ok')).toEqual(allowed('ok'));
    expect(read(m, 32, 1)).toEqual(allowed('value 1')); // the target's old page is gone (MREMAP_FIXED unmaps it)
    expect(read(m, 33, 0)).toEqual(allowed('value 0'));
    expect(fault(m, 16)).toEqual(allowed('SIGSEGV'));
  });

  it('keeps the source readable through a stale translation only while the call is open (R1)', () => {
    const m = memory({ 16: page('a') });
    write(m, 16, 1);
    m.invoke(move('r', 16, 32, 1));
    expect(read(m, 32, 1)).toEqual(allowed('SIGSEGV', 'value 1')); // the move may have taken effect: the target maps the page
    expect(read(m, 16, 1)).toEqual(allowed('value 1')); // the source through its old translation: still allowed
    expect(m.ret('r', 'ok')).toEqual(allowed('ok'));
    expect(read(m, 16, 1)).toEqual(violation('SIGSEGV'));
  });

  it('fails with EFAULT when the first page is unmapped and EINVAL when the ranges overlap; a gap keeps its target page', () => {
    const m = memory({ 17: page('a'), 20: page('b'), 22: page('c'), 41: page('d') });
    m.invoke(move('e', 16, 32, 2));
    expect(m.ret('e', 'EFAULT')).toEqual(allowed('EFAULT'));
    m.invoke(move('i', 17, 18, 2));
    expect(m.ret('i', 'ok')).toEqual(violation('EINVAL'));
    write(m, 41, 4);
    m.invoke(move('g', 20, 40, 3)); // 20 and 22 move, 21 is a gap: 41 stays
    expect(m.ret('g', 'ok')).toEqual(allowed('ok'));
    expect(read(m, 41, 4)).toEqual(allowed('value 4'));
    expect(fault(m, 20)).toEqual(allowed('SIGSEGV'));
  });
});

describe('ideal memory: write pins and their DMA (an O_DIRECT read into the page)', () => {
  it('writes the page pinned, whatever the address maps by the time of the DMA', () => {
    const m = memory({ 16: page('a') });
    expect(m.pin('T0.1', 'P0', 16)).toEqual(allowed('pin allowed')); // a rw mapping: a FOLL_WRITE pin is possible
    m.invoke(call('T1.0', 'madvise', 16));
    m.ret('T1.0', 'ok'); // MADV_DONTNEED: a fresh page at 16 from now on
    expect(m.dma('T0.1', 7)).toEqual(allowed('write allowed'));
    expect(read(m, 16, 7)).toEqual(violation('value 0')); // the DMA went to the page left behind
    expect(read(m, 16, 0)).toEqual(allowed('value 0'));
  });

  it('refuses a pin where no mapping allows writes, open calls aside', () => {
    const m = memory({ 16: page('a', RO) });
    expect(m.pin('T0.1', 'P0', 16)).toEqual(violation('no writable page'));
    expect(memory({}).pin('T0.1', 'P0', 16)).toEqual(violation('no writable page'));
  });

  it('keeps the pinned page with the parent across fork: the child holds what the page held at fork', () => {
    const m = memory({ 16: page('a') });
    expect(write(m, 16, 1).ok).toBe(true);
    m.pin('T0.1', 'P0', 16);
    m.invoke(call('T1.0', 'fork', 0, 256, { child: 'C' }));
    m.ret('T1.0', 'ok');
    m.dma('T0.1', 2); // after fork returned: only the parent's page
    expect(m.access('C', 16, false, 2, true)).toEqual(violation('value 1'));
    expect(m.access('C', 16, false, 1, true)).toEqual(allowed('value 1'));
    expect(read(m, 16, 2)).toEqual(allowed('value 2'));
  });

  it('makes a lazyfree page exact again, like a store (R3)', () => {
    const m = memory({ 16: page('a') });
    write(m, 16, 1);
    m.invoke(call('T0.1', 'madv_free', 16));
    m.ret('T0.1', 'ok');
    m.pin('T0.2', 'P0', 16);
    m.dma('T0.2', 2);
    m.unpin('T0.2');
    expect(read(m, 16, 0)).toEqual(violation('value 2')); // a discard after the DMA would lose a write
    expect(read(m, 16, 2)).toEqual(allowed('value 2'));
  });
});
