// Mutant: try_to_unmap_one() discards a clean lazyfree folio without the
// reference check 6c8e2a256915 added ("mm: fix race between MADV_FREE
// reclaim and blkdev direct IO read", Mauricio Faria de Oliveira, 2022,
// v5.18; today's "ref_count != 1 + map_count" test after smp_mb(), mm/rmap.c
// try_to_unmap_one(), decision point try_to_unmap_one.lazyfree_extra_ref).
// An O_DIRECT read into a MADV_FREE'd buffer has pinned the page but the
// device has not written it yet, so the folio is still clean: reclaim
// clears the PTE and drops the folio, the DMA lands in a page nobody maps,
// and the next read of the buffer faults in zeroes instead of the data
// read. Scenario: test/scenarios/gup-dma-into-lazyfree.txt.
import { defineVariant } from '../model/policies/variant.js';

export default defineVariant({
  name: 'pre-6c8e2a256915',
  description: 'try_to_unmap_one discards a clean lazyfree folio that a GUP pin still holds (before 6c8e2a256915)',
  edit: (v) => v.decide('try_to_unmap_one.lazyfree_extra_ref', () => false),
});
