// Mutant: memslot updates not blocked across the MMU notifier's
// invalidate_range_start() and _end(). 52ac8b358b0c ("KVM: Block memslot
// updates across range_start() and range_end()", Paolo Bonzini, 2021-05,
// v5.13; read through the search tool) made kvm_swap_active_memslots() wait
// for kvm->mn_active_invalidate_count to drop to zero before it publishes
// new memslots, "otherwise the locking in invalidate_range_start and
// invalidate_range_end will be unbalanced". It came one commit before
// 071064f14d87 ("KVM: Don't take mmu_lock for range invalidation unless
// necessary"), which made start's kvm_mmu_invalidate_begin() and end's
// kvm_mmu_invalidate_end() each depend on a memslot overlapping the hva
// range at the time it runs; the wait is what keeps both sides looking at
// the same memslots. A rule mutant: the wait removed from today's code
// (decision point kvm_swap_active_memslots.mn_active_invalidate_count), a
// combination no released kernel had, since the two commits were merged
// together.
// Expected: a memslot deleted between start and end leaves end with no
// memslot to walk, so in_progress stays raised: notifier-balance
// (test/scenarios/kvm-delete-memslot-during-invalidation.txt,
// test/kvm_memslot.test.ts).
import { defineVariant } from '../model/policies/variant.js';

export default defineVariant({
  name: 'pre-52ac8b358b0c',
  description: 'kvm_swap_active_memslots() publishes new memslots without waiting for mn_active_invalidate_count to reach zero (rule mutant)',
  edit: (v) => v.decide('kvm_swap_active_memslots.mn_active_invalidate_count', () => false),
});
