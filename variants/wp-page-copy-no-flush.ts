// Mutant: wp_page_copy() clears the old PTE with ptep_get_and_clear()
// instead of ptep_clear_flush(), so no CPU's TLB entry for the old page is
// flushed before the new PTE is set. Another thread of the process keeps
// reading (or, with a writable entry, writing) the page the COW left
// behind while the faulting thread writes the new one. The contract the
// kernel states at the call: "Clear the pte entry and flush it first,
// before updating the pte with the new entry, to keep TLBs on different
// CPUs in sync" (mm/memory.c wp_page_copy(); the order comes from Suresh
// Siddha's "mm: fix a race condition under SMC + COW", 2006, which replaced
// set-then-flush by clear-flush-then-set). Not a fix commit: the flush the
// mechanism needs, taken away.
import { defineVariant } from '../model/policies/variant.js';
import { note } from '../model/kernel/locks.js';
import { tableIndex } from '../model/kernel/pagetable.js';
import type { WpPageCopyCtx } from '../model/kernel/paths/wp_page_copy.js';

export default defineVariant({
  name: 'wp-page-copy-no-flush',
  description: 'wp_page_copy clears the old PTE without the flush (ptep_get_and_clear for ptep_clear_flush)',
  edit: (v) =>
    v.replace('wp_page_copy.ptep_clear_flush', function* (k, c0) {
      const c = c0 as WpPageCopyCtx;
      if (c.table === undefined) return;
      const t = k.s.frames[c.table]!;
      const i = tableIndex(k.s.config, c.vpn, 1);
      c.cleared = t.entries![i]!;
      t.entries![i] = null;
      note(k, 'pte-write', c.mm, `pte ${c.vpn}`, t.pfn);
      yield { id: 'wp_page_copy.ptep_get_and_clear' };
    }),
});
