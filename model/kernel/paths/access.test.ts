// The ordering contract of access.ts (a user load or store as the hardware
// performs it), one test per numbered step of its header.

import { describe, expect, it } from 'vitest';
import { anon, mprotect, proc, read, run, scenario, thread, until, write } from '../../../test/build.js';
import { accesses, go, ids, observe, X } from '../../../test/trace.js';
import { findPte, findTable } from '../pagetable.js';

const Z = 0x40000; // never mapped

describe('access.ts: a user access as the hardware performs it', () => {
  it('uses a TLB hit as is, but walks again for a store through a clean entry and faults when the PTE no longer allows it (step 1)', () => {
    // read, read, write on one CPU: the second read hits; the write finds a clean entry and walks to set D
    const a = go(scenario({ setup: [proc('P0'), anon('P0', X, 1)], threads: [thread('T0', 'P0', 0, read(X), read(X), write(X))] }));
    expect(a.verdict).toBe('pass');
    expect(accesses(a, 'T0').map((e) => e.id)).toEqual(['user_access.walk', 'user_access.tlb_hit', 'user_access.walk']);
    expect(ids(a, 'T0').filter((id) => id === 'user_access.page_fault')).toHaveLength(1); // only the first touch faulted
    expect(findPte(a.state, a.state.mms.P0!, X >> 12)!.pte!.dirty).toBe(true);

    // the same clean writable entry, but mprotect(PROT_READ) has already rewritten the PTE (flush not yet sent)
    const b = go(
      scenario({
        setup: [proc('P0'), anon('P0', X, 1)],
        threads: [thread('T0', 'P0', 0, read(X), write(X)), thread('T1', 'P0', 1, mprotect(X, 1, 'r'))],
        schedule: [until('T0', 'user_access.walk'), until('T1', 'change_pte_range.modify_prot'), run('T0'), run('T1'), run('T0')],
      }),
    );
    expect(b.verdict).toBe('pass');
    const t0 = ids(b, 'T0');
    const afterRead = t0.slice(t0.indexOf('user_access.walk') + 1);
    expect(afterRead[0]).toBe('user_access.page_fault'); // not a TLB hit, although the entry said writable
    expect(afterRead).not.toContain('user_access.tlb_hit');
    expect(accesses(b, 'T0').at(-1)!.obs).toMatchObject({ write: true, ok: false });
  });

  it('fills the TLB and the paging-structure caches on a miss and sets D in the PTE on a store (step 2)', () => {
    const sc = scenario({
      setup: [proc('P0'), anon('P0', X, 1)],
      threads: [thread('T0', 'P0', 0, read(X)), thread('T1', 'P0', 1, write(X))],
      schedule: [run('T0'), run('T1')],
    });
    const { r, seen } = observe(sc, (e) => e.actor === 'T0' && e.id === 'user_access.walk', (s) => findPte(s, s.mms.P0!, X >> 12)!.pte!.dirty);
    expect(r.verdict).toBe('pass');
    expect(seen).toEqual([false]); // T0's read left the PTE clean
    expect(ids(r, 'T1')).not.toContain('user_access.page_fault'); // T1 missed, walked, and stored without a fault
    expect(accesses(r, 'T1').map((e) => e.id)).toEqual(['user_access.walk']);
    const s = r.state;
    const mm = s.mms.P0!;
    const pte = findPte(s, mm, X >> 12)!.pte!;
    expect(pte.dirty).toBe(true);
    expect(pte.accessed).toBe(true);
    const cpu = s.cpus[1]!;
    expect(cpu.tlb.filter((e) => e.slot === cpu.loadedSlot && e.vpn === X >> 12)).toEqual([
      expect.objectContaining({ pfn: pte.pfn, writable: true, dirty: true }),
    ]);
    // one PSC entry per upper level, pointing at the tables the walk went through
    const psc = cpu.psc.filter((p) => p.slot === cpu.loadedSlot).sort((a, b) => b.level - a.level);
    expect(psc.map((p) => [p.level, p.pfn])).toEqual([3, 2, 1].map((l) => [l, findTable(s, mm, X >> 12, l)!.pfn]));
  });

  it('raises #PF on a not-present or not-permitted access, drops the entry, and retries or delivers SIGSEGV (step 3)', () => {
    // X is read-only: the read faults in and is retried; the write faults on the read-only entry; Z has no VMA
    const r = go(scenario({ setup: [proc('P0'), anon('P0', X, 1, 'r')], threads: [thread('T0', 'P0', 0, read(X), write(X), read(Z))] }));
    expect(r.verdict).toBe('pass');
    const t0 = ids(r, 'T0');
    const faults = t0.flatMap((id, i) => (id === 'user_access.page_fault' ? [i] : []));
    expect(faults).toHaveLength(3);
    // first fault: handled, then the access is retried by a walk
    expect(t0.slice(faults[0]! + 1, faults[1]!)).toContain('do_anonymous_page.set_pte_at');
    expect(t0[faults[1]! - 1]).toBe('user_access.walk');
    // second fault: the VMA forbids the write; the third: no VMA at all, and no table is allocated for it
    expect(t0.slice(faults[1]! + 1, faults[2]!).at(-1)).toBe('user_access.sigsegv');
    expect(t0.slice(faults[2]!)).not.toContain('__pud_alloc.alloc_one');
    expect(accesses(r, 'T0').map((e) => [e.id, (e.obs as { ok: boolean }).ok])).toEqual([
      ['user_access.walk', true],
      ['do_user_addr_fault.bad_area_access_error', false], // SIGSEGV is observed where the fault path decides it (here under the VMA lock)
      ['lock_mm_and_find_vma.bad_area', false], // no VMA: lock_vma_under_rcu fails, mmap_read_lock path
    ]);
    // the read-only entry the store faulted on was dropped by the #PF
    expect(r.state.cpus[0]!.tlb.some((e) => e.vpn === X >> 12)).toBe(false);
  });
});
