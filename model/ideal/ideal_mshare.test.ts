// Unit tests of the ideal memory (SPEC 5.1) through msharefs windows: a
// sharer sees the host's pages at its own address, and a host-side change
// (MSHAREFS_CREATE_MAPPING / MSHAREFS_UNMAP, the owner's exit) is one call
// whose window and shadows every sharer shares. Expectations are derived
// by hand from the rule in each comment.

import { describe, expect, it } from 'vitest';
import type { OpRecord } from '../kernel/step.js';
import { mmId, type Prot } from '../kernel/types.js';
import { IdealMemory, type IdealMshare, type IdealPage } from './ideal.js';

const RW: Prot = { r: true, w: true };
const RO: Prot = { r: true, w: false };
const page = (lp: string, prot: Prot = RW, anon = false): IdealPage => ({ lp, prot, anon });
/** File F: host M's pages 64..67, seen by P0 at 8..11 and by P1 at 20..23; P2 has a private page at 40. */
const F: IdealMshare = { host: 'M', start: 64, pages: 4, owner: 'P0' };
const memory = (owner: string | null = 'P0') =>
  new IdealMemory(
    { maps: { M: { 64: page('shm:setup:F:0') }, P0: {}, P1: {}, P2: { 40: page('anon:setup:P2:40', RW, true) } }, contents: {}, windows: { P0: [{ file: 'F', start: 8 }], P1: [{ file: 'F', start: 20 }] } },
    { F: { ...F, owner } },
  );
const call = (id: string, kind: OpRecord['kind'], mm: string, start: number, pages: number, more: Partial<OpRecord> = {}): OpRecord =>
  ({ id, kind, mm: mmId(mm), start, pages, prot: null, file: null, pgoff: 0, ...more });
/** An ioctl on F (by P0) at `offset` pages into the region. */
const ioctl = (id: string, kind: 'mshare_map' | 'mshare_unmap', offset: number) => call(id, kind, 'P0', offset, 1, { file: 'F', prot: kind === 'mshare_map' ? RW : null });
const read = (m: IdealMemory, mm: string, vpn: number, value: number) => m.access(mm, vpn, false, value, true);
const write = (m: IdealMemory, mm: string, vpn: number, value: number) => m.access(mm, vpn, true, value, true);
const fault = (m: IdealMemory, mm: string, vpn: number) => m.access(mm, vpn, false, 0, false);
const allowed = (...expected: string[]) => ({ ok: true, expected });
const violation = (...expected: string[]) => ({ ok: false, expected });

describe('ideal memory: msharefs windows', () => {
  it("shows every sharer the host's page at its own address", () => {
    const m = memory();
    expect(write(m, 'P1', 20, 5)).toEqual(allowed('write allowed')); // P1's window: host page 64
    expect(read(m, 'P0', 8, 5)).toEqual(allowed('value 5')); // the same logical page through P0's window
    expect(read(m, 'P0', 9, 0)).toEqual(violation('SIGSEGV')); // host page 65 is not mapped
    expect(read(m, 'P2', 8, 5)).toEqual(violation('SIGSEGV')); // P2 has no window
  });

  it('maps a new page for every sharer inside the window of MSHAREFS_CREATE_MAPPING', () => {
    const m = memory();
    m.invoke(ioctl('T0.0', 'mshare_map', 1));
    expect(read(m, 'P1', 21, 0)).toEqual(allowed('SIGSEGV', 'value 0')); // not yet, or linearized
    expect(fault(m, 'P0', 9)).toEqual(violation('value 0')); // the same one call: P1 saw it, so P0 does too
    expect(m.ret('T0.0', 'ok')).toEqual(allowed('ok')); // CREATE_MAPPING succeeds in every linearization
    expect(fault(m, 'P1', 21)).toEqual(violation('value 0')); // after the return every sharer sees the new page
  });

  it('replaces an existing mapping: the old data stays usable for every sharer until the ioctl returns', () => {
    const m = memory();
    write(m, 'P0', 8, 5);
    m.invoke(ioctl('T0.0', 'mshare_map', 0));
    expect(read(m, 'P1', 20, 0)).toEqual(allowed('value 0', 'value 5')); // the new page, or the old one
    expect(read(m, 'P0', 8, 5)).toEqual(allowed('value 0', 'value 5')); // P0's shadow of the page the call took away
    expect(m.ret('T0.0', 'ok')).toEqual(allowed('ok')); // CREATE_MAPPING over a mapping succeeds (MAP_FIXED)
    expect(read(m, 'P0', 8, 5)).toEqual(violation('value 0')); // shadows end at the return
  });

  it('unmaps for every sharer inside the window of MSHAREFS_UNMAP, with shadows until its return', () => {
    const m = memory();
    m.invoke(ioctl('T0.0', 'mshare_unmap', 0));
    expect(fault(m, 'P1', 20)).toEqual(allowed('SIGSEGV', 'value 0')); // linearized
    expect(read(m, 'P0', 8, 0)).toEqual(allowed('value 0')); // P0's shadow of host page 64
    expect(m.ret('T0.0', 'ok')).toEqual(allowed('ok')); // MSHAREFS_UNMAP of a mapped page succeeds
    expect(read(m, 'P0', 8, 0)).toEqual(violation('SIGSEGV')); // after the return P0 sees nothing
    expect(read(m, 'P1', 20, 0)).toEqual(violation('SIGSEGV')); // nor does P1: one host change, every window
  });
});

describe('ideal memory: attach and detach', () => {
  it('attaches at one point of the mmap window, after which the host pages stay visible', () => {
    const m = memory();
    write(m, 'P0', 8, 5);
    m.invoke(call('T2.0', 'attach', 'P2', 44, 4, { file: 'F' }));
    expect(fault(m, 'P2', 44)).toEqual(allowed('SIGSEGV', 'value 5')); // before its linearization point
    expect(read(m, 'P2', 44, 5)).toEqual(allowed('SIGSEGV', 'value 5')); // or after it
    expect(m.ret('T2.0', 'ok')).toEqual(allowed('ok')); // the attach succeeds in every linearization
    expect(fault(m, 'P2', 44)).toEqual(violation('value 5')); // after the return the window shows host page 64
  });

  it('fails an attach over a mapping with EEXIST and no window', () => {
    const m = memory();
    m.invoke(call('T2.0', 'attach', 'P2', 40, 4, { file: 'F' }));
    expect(read(m, 'P2', 40, 0)).toEqual(allowed('value 0')); // P2's own page stays: no linearization attaches
    expect(m.ret('T2.0', 'ok')).toEqual(violation('EEXIST')); // no linearization lets the attach over P2's page succeed
  });

  it('detaches a whole window with munmap, the sharer keeping its shadow until the return', () => {
    const m = memory();
    m.invoke(call('T1.0', 'munmap', 'P1', 20, 4));
    expect(fault(m, 'P1', 20)).toEqual(allowed('SIGSEGV', 'value 0')); // subset {} or {munmap}: P1 loses its window
    expect(read(m, 'P1', 20, 0)).toEqual(allowed('value 0')); // shadow (R1)
    expect(read(m, 'P0', 8, 0)).toEqual(allowed('value 0')); // another sharer keeps its window
    expect(m.ret('T1.0', 'ok')).toEqual(allowed('ok')); // a whole-window munmap succeeds
    expect(read(m, 'P1', 20, 0)).toEqual(violation('SIGSEGV')); // after the return P1's window is gone
  });

  it('fails an munmap that splits a window with EINVAL: a call that fails its checks promises no unmap', () => {
    const open = () => {
      const m = memory();
      m.invoke(call('T1.0', 'munmap', 'P1', 20, 1));
      return m;
    };
    const m = open();
    expect(fault(m, 'P1', 20)).toEqual(violation('value 0')); // no linearization unmaps anything
    expect(m.ret('T1.0', 'EINVAL')).toEqual(allowed('EINVAL')); // the only result any order gives
    expect(read(m, 'P1', 20, 0)).toEqual(allowed('value 0')); // the window stayed
    expect(open().ret('T1.0', 'ok')).toEqual(violation('EINVAL')); // msharefs may_split() refuses
  });

  it('refuses mprotect in a window with EINVAL and leaves the protection', () => {
    const m = memory();
    m.invoke(call('T0.0', 'mprotect', 'P0', 8, 1, { prot: RO }));
    expect(m.ret('T0.0', 'EINVAL')).toEqual(allowed('EINVAL')); // msharefs vm_ops->mprotect refuses in every linearization
    expect(write(m, 'P0', 8, 1)).toEqual(allowed('write allowed')); // failed its checks: no change, no shadow
  });

  it('keeps the data of shared memory across MADV_DONTNEED through a window', () => {
    const m = memory();
    write(m, 'P0', 8, 5);
    m.invoke(call('T0.0', 'madvise', 'P0', 8, 1));
    expect(m.ret('T0.0', 'ok')).toEqual(allowed('ok')); // MADV_DONTNEED through a window succeeds
    expect(read(m, 'P1', 20, 5)).toEqual(allowed('value 5')); // msharefs memory is shmem: not zeroed
  });
});

describe('ideal memory: the owner exits', () => {
  it('unmaps the region for every sharer when its owner exits (exit_mshare)', () => {
    const m = memory('P0');
    m.invoke(call('T0.0', 'exit', 'P0', 0, 64));
    expect(fault(m, 'P1', 20)).toEqual(allowed('SIGSEGV', 'value 0')); // subset {} or {exit}
    expect(read(m, 'P1', 20, 0)).toEqual(allowed('value 0')); // P1's shadow until the exit returns
    expect(m.ret('T0.0', 'ok')).toEqual(allowed('ok')); // exit always succeeds
    expect(read(m, 'P1', 20, 0)).toEqual(violation('SIGSEGV')); // after the return the owner's region is gone for every sharer
  });

  it('leaves the region to the other sharers when the exiting process owns nothing', () => {
    const m = memory(null);
    m.invoke(call('T0.0', 'exit', 'P0', 0, 64));
    expect(m.ret('T0.0', 'ok')).toEqual(allowed('ok')); // exit always succeeds
    expect(read(m, 'P0', 8, 0)).toEqual(violation('SIGSEGV')); // its own window went with it
    expect(fault(m, 'P1', 20)).toEqual(violation('value 0')); // a non-owner's exit leaves the host's pages to the others
  });
});
