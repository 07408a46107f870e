// Cases of the ideal memory (SPEC 5.1) that mutation testing found
// unguarded (docs/mutation.md): the edges of an msharefs window, a return
// the memory never saw invoked. Expectations derived by hand from the rule
// in each comment.

import { describe, expect, it } from 'vitest';
import type { OpRecord } from '../kernel/step.js';
import { mmId, type Prot } from '../kernel/types.js';
import { applyOp, IdealMemory, resolve, type IdealMshare, type IdealPage, type IdealState } from './ideal.js';

const RW: Prot = { r: true, w: true };
const page = (lp: string, anon = true): IdealPage => ({ lp, prot: RW, anon });
/** File F: host M's pages 64..67; P0 attached it at 8..11 and has its own pages at 7 and 12, just outside. */
const MS: Record<string, IdealMshare> = { F: { host: 'M', start: 64, pages: 4, owner: null } };
const initial = (): IdealState => ({
  maps: { M: { 64: page('shm:F:0', false), 67: page('shm:F:3', false), 68: page('shm:beyond', false) }, P0: { 7: page('anon:P0:7'), 12: page('anon:P0:12') } },
  contents: {},
  windows: { P0: [{ file: 'F', start: 8 }] },
});
const call = (id: string, kind: OpRecord['kind'], start: number, pages: number, more: Partial<OpRecord> = {}): OpRecord =>
  ({ id, kind, mm: mmId('P0'), start, pages, prot: RW, file: null, pgoff: 0, ...more });

describe('ideal memory: the edges of an msharefs window', () => {
  it("resolves the window's first and last page to the host and the pages either side to the process's own", () => {
    const st = initial();
    expect(resolve(st, MS, 'P0', 7)?.lp).toBe('anon:P0:7');
    expect(resolve(st, MS, 'P0', 8)?.lp).toBe('shm:F:0');
    expect(resolve(st, MS, 'P0', 11)?.lp).toBe('shm:F:3');
    expect(resolve(st, MS, 'P0', 12)?.lp).toBe('anon:P0:12'); // not host page 68, past the region
  });

  it('lets mmap and mprotect work right up to the window, and refuses them one page into it', () => {
    // overlapsWindow: [a, b) meets [w.start, w.start + pages) only if a < end and w.start < b
    const st = initial();
    delete st.maps.P0![7];
    delete st.maps.P0![12];
    expect(applyOp(st, call('a', 'mmap', 6, 2), MS)).toBe('ok'); // pages 6, 7: ends where the window starts
    expect(applyOp(st, call('b', 'mmap', 12, 1), MS)).toBe('ok'); // starts where the window ends
    expect(applyOp(st, call('c', 'mprotect', 6, 2, { prot: { r: true, w: false } }), MS)).toBe('ok');
    expect(applyOp(st, call('d', 'mprotect', 12, 1, { prot: { r: true, w: false } }), MS)).toBe('ok');
    expect(applyOp(st, call('e', 'mmap', 11, 1), MS)).toBe('EEXIST'); // the window's last page, no page of P0's own
    expect(applyOp(st, call('f', 'mprotect', 11, 2, { prot: { r: true, w: false } }), MS)).toBe('EINVAL'); // 11..12 starts in it
  });

  it('unmaps a window only when the call covers it whole, and is refused when it splits either end', () => {
    const split = (start: number, pages: number) => applyOp(initial(), call('m', 'munmap', start, pages), MS);
    expect(split(9, 3)).toBe('EINVAL'); // leaves page 8
    expect(split(8, 3)).toBe('EINVAL'); // leaves page 11
    const st = initial();
    expect(applyOp(st, call('m', 'munmap', 7, 6), MS)).toBe('ok'); // 7..12 covers 8..11
    expect(st.windows.P0).toEqual([]);
    expect(st.maps.P0).toEqual({});
  });

  it('MADV_DONTNEED zeroes the private pages around a window and leaves the window alone', () => {
    const st = initial();
    expect(applyOp(st, call('z', 'madvise', 7, 6), MS)).toBe('ok');
    expect(st.maps.P0![7]!.lp).toBe('anon:z:7');
    expect(st.maps.P0![12]!.lp).toBe('anon:z:12');
    expect(st.maps.M![64]!.lp).toBe('shm:F:0');
  });
});

describe('ideal memory: what each call changes, page by page', () => {
  it('names file pages by file and offset and anonymous pages by call and page, so no two alias', () => {
    const st = initial();
    expect(applyOp(st, call('f', 'mmap', 20, 2, { file: 'G', pgoff: 3 }), MS)).toBe('ok');
    expect(st.maps.P0![20]).toEqual({ lp: 'file:G:3', prot: RW, anon: false });
    expect(st.maps.P0![21]!.lp).toBe('file:G:4');
    expect(applyOp(st, call('a', 'mmap', 30, 2), MS)).toBe('ok');
    expect([st.maps.P0![30]!.lp, st.maps.P0![31]!.lp]).toEqual(['anon:a:30', 'anon:a:31']);
  });

  it('attaches next to a mapping, never over a mapping or another window', () => {
    const st = initial();
    delete st.windows.P0;
    expect(applyOp(st, call('w', 'attach', 8, 4, { file: 'F' }), MS)).toBe('ok'); // 8..11, own page 12 just after
    expect(applyOp(st, call('x', 'attach', 8, 4, { file: 'F' }), MS)).toBe('EEXIST');
    expect(st.windows.P0).toEqual([{ file: 'F', start: 8 }]);
  });

  it('munmap of other pages keeps the window and the page after the range', () => {
    const st = initial();
    st.maps.P0![13] = page('anon:P0:13');
    expect(applyOp(st, call('m', 'munmap', 12, 1), MS)).toBe('ok');
    expect(st.windows.P0).toEqual([{ file: 'F', start: 8 }]);
    expect(Object.keys(st.maps.P0!)).toEqual(['7', '13']);
  });

  it("MSHAREFS_CREATE_MAPPING and MSHAREFS_UNMAP change exactly the host's pages they name", () => {
    const st = initial();
    expect(applyOp(st, call('c', 'mshare_map', 1, 2, { file: 'F' }), MS)).toBe('ok'); // region pages 1, 2: host 65, 66
    expect(st.maps.M![65]).toEqual({ lp: 'shm:c:0', prot: RW, anon: false });
    expect(st.maps.M![66]!.lp).toBe('shm:c:1');
    expect(Object.keys(st.maps.M!)).toEqual(['64', '65', '66', '67', '68']);
    expect(st.maps.M![67]!.lp).toBe('shm:F:3'); // the page after the call's range is untouched
    expect(applyOp(st, call('u', 'mshare_unmap', 2, 2, { file: 'F' }), MS)).toBe('ok'); // host 66, 67
    expect(Object.keys(st.maps.M!)).toEqual(['64', '65', '68']);
    expect(Object.keys(st.maps.P0!)).toEqual(['7', '12']); // not an exit: the caller keeps its own pages
  });

  it('sees nothing through a window onto a host with no pages yet, nor in a process with no pages', () => {
    const st = initial();
    delete st.maps.M;
    const m = new IdealMemory(st, MS);
    expect(m.access('P0', 8, false, 0, false)).toEqual({ ok: true, expected: ['SIGSEGV'] });
    expect(m.access('P9', 8, false, 0, false)).toEqual({ ok: true, expected: ['SIGSEGV'] });
  });

  it("keeps a shadow of a page past the first of the region until the host-side unmap returns", () => {
    // Region page 3 (host 67) is P0's page 11: once a fault shows the unmap
    // took effect, a read through the old translation is still allowed.
    const m = new IdealMemory(initial(), MS);
    m.invoke(call('u', 'mshare_unmap', 3, 1, { file: 'F' }));
    expect(m.access('P0', 11, false, 0, false).ok).toBe(true);
    expect(m.access('P0', 11, false, 0, true)).toEqual({ ok: true, expected: ['value 0'] });
    m.ret('u', 'ok');
    expect(m.access('P0', 11, false, 0, true).ok).toBe(false);
  });
});

describe('ideal memory: shadows next to a window', () => {
  it("keeps a shadow of the process's own page just past a window, not of the host page beyond the region", () => {
    // P0's page 12 follows its window 8..11; host page 68 lies past the
    // region and is nobody's page 12.
    const m = new IdealMemory(initial(), MS);
    m.invoke(call('m', 'munmap', 12, 1));
    expect(m.access('P0', 12, false, 0, false).ok).toBe(true); // the munmap took effect
    expect(m.access('P0', 12, false, 0, true)).toEqual({ ok: true, expected: ['value 0'] }); // through the shadow
  });
});

describe('ideal memory: shadows and returns with several calls open', () => {
  it('keeps a shadow when PROT_NONE takes away only the read permission', () => {
    // P0's page 7 made read-only first; mprotect(PROT_NONE) changes r alone
    const st = initial();
    st.maps.P0![7] = { ...st.maps.P0![7]!, prot: { r: true, w: false } };
    const m = new IdealMemory(st, MS);
    m.invoke(call('p', 'mprotect', 7, 1, { prot: { r: false, w: false } }));
    expect(m.access('P0', 7, false, 0, false).ok).toBe(true); // the mprotect took effect
    expect(m.access('P0', 7, false, 0, true)).toEqual({ ok: true, expected: ['value 0'] }); // the old read-only entry
    m.ret('p', 'ok');
    expect(m.access('P0', 7, false, 0, true).ok).toBe(false);
  });

  it('returns the call named, not the first one open', () => {
    const m = new IdealMemory(initial(), MS);
    m.invoke(call('a', 'mmap', 20, 1));
    m.invoke(call('b', 'munmap', 7, 1));
    expect(m.ret('b', 'ok')).toEqual({ ok: true, expected: ['ok'] });
    expect(m.access('P0', 7, false, 0, true)).toEqual({ ok: false, expected: ['SIGSEGV'] }); // b is done
    expect(m.access('P0', 20, false, 0, false).ok).toBe(true); // a may still be pending
  });
});

describe('ideal memory: calls it did not see invoked', () => {
  it('accepts any result for a return without an invoke, and changes nothing', () => {
    const m = new IdealMemory(initial(), MS);
    expect(m.ret('T9.0', 'EINVAL')).toEqual({ ok: true, expected: [] });
    expect(m.access('P0', 7, false, 0, true)).toEqual({ ok: true, expected: ['value 0'] });
  });
});
