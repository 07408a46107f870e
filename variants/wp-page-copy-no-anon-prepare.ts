// Mutant: wp_page_copy() breaks a COW from the zero page without
// vmf_anon_prepare(). A VMA that had only ever mapped the zero page (read
// faults need no anon_vma) then holds a private page but no anon_vma, and
// a fork's vma_needs_copy() skips it: the child faults in zeroes where the
// parent had written. The kernel's wp_page_copy() starts with
// vmf_anon_prepare() (mm/memory.c). Not a fix commit: the step the
// mechanism needs, taken away (the model first lacked it, and the first
// fork campaign found it: test/scenarios/zero-page-cow-before-fork.txt).
import { defineVariant } from '../model/policies/variant.js';

export default defineVariant({
  name: 'wp-page-copy-no-anon-prepare',
  description: 'wp_page_copy from the zero page skips vmf_anon_prepare, so fork does not copy the VMA',
  edit: (v) => v.drop('wp_page_copy.vmf_anon_prepare'),
});
