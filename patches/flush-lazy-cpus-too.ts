// An example patch, written as a variant the way a developer who posts one
// would: native_flush_tlb_multi() sends the flush IPI to every other CPU in
// mm_cpumask, lazy ones included, as if should_flush_tlb() always held
// (arch/x86/mm/tlb.c). It costs IPIs to lazy CPUs and should break nothing:
// flush_tlb_func() on a lazy CPU switches it to init_mm. checks.json
// records that every property holds for it.
import { defineVariant } from '../model/policies/variant.js';
import { nativeFlushTlbMultiSend } from '../model/kernel/paths/flush_tlb_mm_range.js';

export default defineVariant({
  name: 'flush-lazy-cpus-too',
  description: 'native_flush_tlb_multi sends the flush to every CPU in mm_cpumask, lazy or not',
  edit: (v) => v.replace('native_flush_tlb_multi.send', nativeFlushTlbMultiSend(() => true)),
});
