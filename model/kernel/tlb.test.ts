// The usable-translation rule of SPEC 5.2 and the flush primitives, on a
// hand-built CPU: expectations derived from the rule, not from the code.
//   An entry in slot s on CPU c for mm m is usable if s is the loaded slot
//   and c is neither lazy nor switching, or if slot s still belongs to m
//   and its tlb_gen equals m's. PSC entries follow the same rule, and every
//   PSC entry under a lazy CPU's loaded slot is usable (speculative walks).

import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from './config.js';
import type { Cpu, KernelState, PscEntry, TlbEntry } from './state.js';
import { dropTlbEntry, flushEverything, flushSlot, flushTlbOne, invalidateOnFault, invlpgbOne, mmOfCtx, pscUsableFor, tlbLookup, tlbUsableFor } from './tlb.js';

// P0 (ctx 1) is at tlb_gen 5, P1 (ctx 2) at 3. Slot 0 holds P0 at gen 4
// (behind), slot 1 holds P1 at gen 3 (current), slot 2 a ctx no mm has.
const state = () => ({ config: DEFAULT_CONFIG, mms: { P0: { id: 'P0', ctxId: 1, tlbGen: 5 }, P1: { id: 'P1', ctxId: 2, tlbGen: 3 } } }) as unknown as KernelState;
const cpu = (over: Partial<Cpu> = {}): Cpu =>
  ({
    id: 0, loadedMm: 'P0', switching: false, isLazy: false, loadedSlot: 0,
    slots: [{ ctxId: 1, tlbGen: 4 }, { ctxId: 2, tlbGen: 3 }, { ctxId: 9, tlbGen: 0 }],
    tlb: [], psc: [], ...over,
  }) as unknown as Cpu;

describe('mmOfCtx', () => {
  it('finds the mm that owns a context id, or none', () => {
    expect(mmOfCtx(state(), 2)?.id).toBe('P1');
    expect(mmOfCtx(state(), 9)).toBeNull();
  });
});

describe('tlbUsableFor', () => {
  const s = state();

  it('uses the loaded slot of a running CPU even when its tlb_gen is behind', () => {
    expect(tlbUsableFor(s, cpu(), 0)).toBe('P0');
  });

  it('does not use a behind loaded slot on a lazy or switching CPU, or one loaded for another mm', () => {
    expect(tlbUsableFor(s, cpu({ isLazy: true }), 0)).toBeNull();
    expect(tlbUsableFor(s, cpu({ switching: true }), 0)).toBeNull();
    expect(tlbUsableFor(s, cpu({ loadedMm: 'P1' as never }), 0)).toBeNull();
    expect(tlbUsableFor(s, cpu({ loadedSlot: 1 }), 0)).toBeNull();
  });

  it('uses a dormant slot whose tlb_gen is current: a switch back would not flush it', () => {
    expect(tlbUsableFor(s, cpu(), 1)).toBe('P1');
    expect(tlbUsableFor(s, cpu({ isLazy: true, switching: true }), 1)).toBe('P1');
  });

  it('uses nothing in a slot whose context no mm owns', () => {
    expect(tlbUsableFor(s, cpu({ loadedSlot: 2 }), 2)).toBeNull();
  });
});

describe('pscUsableFor', () => {
  const s = state();

  it('follows the TLB rule', () => {
    expect(pscUsableFor(s, cpu(), 0)).toBe('P0');
    expect(pscUsableFor(s, cpu(), 1)).toBe('P1');
    expect(pscUsableFor(s, cpu({ loadedSlot: 1 }), 0)).toBeNull();
  });

  it("also uses a lazy CPU's loaded slot, behind or not (speculative walks, commit 2ff6ddf19c0e)", () => {
    expect(tlbUsableFor(s, cpu({ isLazy: true }), 0)).toBeNull();
    expect(pscUsableFor(s, cpu({ isLazy: true }), 0)).toBe('P0');
    expect(pscUsableFor(s, cpu({ isLazy: true, loadedSlot: 2 }), 2)).toBeNull();
  });
});

describe('flushes', () => {
  // fanout 4: the PTE table covering page v has prefix floor(v / 4), the
  // PMD table floor(v / 16).
  const tlb = (slot: number, vpn: number): TlbEntry => ({ slot, vpn, pfn: 10 + vpn, writable: true, dirty: false, ghost: 1, filled: 1 }) as TlbEntry;
  const psc = (slot: number, level: number, prefix: number): PscEntry => ({ slot, level, prefix, pfn: 30 + prefix, ghost: 1 }) as PscEntry;
  const loaded = () => cpu({ tlb: [tlb(0, 5), tlb(0, 6), tlb(1, 5)], psc: [psc(0, 1, 1), psc(0, 1, 2), psc(0, 2, 0), psc(0, 2, 1), psc(1, 1, 1)] });

  it('looks up only the loaded slot', () => {
    expect(tlbLookup(loaded(), 5)).toEqual(tlb(0, 5));
    expect(tlbLookup(loaded(), 7)).toBeUndefined();
    expect(tlbLookup(cpu({ loadedSlot: 1, tlb: [tlb(0, 6)] }), 6)).toBeUndefined();
  });

  it('INVLPG on Intel (tce=0) drops the entry for its page and every paging-structure entry of that slot, other pages stay (SDM 4.10.4.1)', () => {
    const c = loaded();
    const intel = state();
    intel.config = { ...intel.config, tce: 0 };
    flushTlbOne(intel, c, 0, 5); // page 5
    expect(c.tlb).toEqual([tlb(0, 6), tlb(1, 5)]);
    expect(c.psc).toEqual([psc(1, 1, 1)]);
  });

  it('INVLPG on AMD with EFER.TCE (tce=1, the default) drops only the paging-structure entries on its walk', () => {
    const c = loaded();
    flushTlbOne(state(), c, 0, 5); // page 5: PTE table 1, PMD table 0
    expect(c.tlb).toEqual([tlb(0, 6), tlb(1, 5)]);
    expect(c.psc).toEqual([psc(0, 1, 2), psc(0, 2, 1), psc(1, 1, 1)]);
  });

  it('the #PF invalidation drops the entry and only the paging-structure entries on its walk, in that slot', () => {
    const c = loaded();
    invalidateOnFault(state(), c, 0, 5); // page 5: PTE table 1, PMD table 0
    expect(c.tlb).toEqual([tlb(0, 6), tlb(1, 5)]);
    expect(c.psc).toEqual([psc(0, 1, 2), psc(0, 2, 1), psc(1, 1, 1)]);
  });

  it('INVLPGB drops the entry for its page, and the PSC entries on its walk unless asked for final translations only', () => {
    const finalOnly = loaded();
    invlpgbOne(state(), finalOnly, 0, 5, true);
    expect(finalOnly.tlb).toEqual([tlb(0, 6), tlb(1, 5)]);
    expect(finalOnly.psc).toHaveLength(5);
    const all = loaded();
    invlpgbOne(state(), all, 0, 5, false);
    expect(all.psc).toEqual([psc(0, 1, 2), psc(0, 2, 1), psc(1, 1, 1)]);
  });

  it('a #PF drops only the TLB entry for the address, in the loaded slot', () => {
    const c = loaded();
    dropTlbEntry(state(), c, 5);
    expect(c.tlb).toEqual([tlb(0, 6), tlb(1, 5)]);
    expect(c.psc).toHaveLength(5);
  });

  it('a full flush of a slot leaves the other slots', () => {
    const c = loaded();
    flushSlot(c, 0);
    expect(c.tlb).toEqual([tlb(1, 5)]);
    expect(c.psc).toEqual([psc(1, 1, 1)]);
  });

  it('__flush_tlb_all() leaves nothing', () => {
    const c = loaded();
    flushEverything(c);
    expect(c.tlb).toEqual([]);
    expect(c.psc).toEqual([]);
  });
});

describe('huge (PMD-leaf) TLB entries', () => {
  // one 4-page huge entry of slot 0 over pages 8..11, kept as four tagged TlbEntries; page 5 is a 4K entry
  const huge = (vpn: number, slot = 0): TlbEntry => ({ slot, vpn, pfn: 20 + vpn, writable: true, dirty: false, ghost: 1, filled: 1, huge: 8 }) as TlbEntry;
  const small = { slot: 0, vpn: 5, pfn: 15, writable: true, dirty: false, ghost: 1, filled: 1 } as TlbEntry;
  const withHuge = () => cpu({ tlb: [huge(8), huge(9), huge(10), huge(11), huge(8, 1), small], psc: [] });

  it('an INVLPG of any page of the range drops the whole entry, in that PCID only, Intel or AMD TCE', () => {
    for (const tce of [0, 1]) {
      const c = withHuge();
      flushTlbOne({ ...state(), config: { ...DEFAULT_CONFIG, tce } } as KernelState, c, 0, 10);
      expect(c.tlb).toEqual([huge(8, 1), small]);
    }
  });

  it('a #PF or INVLPGB of one page of the range drops it too; an address outside leaves it', () => {
    const c = withHuge();
    invalidateOnFault(state(), c, 0, 12);
    expect(c.tlb).toHaveLength(6);
    invalidateOnFault(state(), c, 0, 11);
    expect(c.tlb).toEqual([huge(8, 1), small]);
    const d = withHuge();
    invlpgbOne(state(), d, 0, 9, true);
    expect(d.tlb).toEqual([huge(8, 1), small]);
  });
});
