import { describe, expect, it } from 'vitest';
import { callPath, groupOf } from './step_labels.js';

describe('step labels', () => {
  it('name kernel steps as calls', () => {
    expect(callPath('do_vmi_munmap.mmap_write_lock')).toEqual(['do_vmi_munmap()', 'mmap_write_lock()']);
    expect(groupOf('zap_pte_range.clear')).toBe('zap_pte_range()');
  });

  it('never show a step a variant inserted as a kernel function (model/policies/variant.ts names it "variant:id")', () => {
    expect(callPath('extra-flush:tlb_finish_mmu.again')).toEqual(['[added by variant extra-flush] tlb_finish_mmu.again']);
    expect(groupOf('extra-flush:tlb_finish_mmu.again')).toBe('[added by variant extra-flush]');
  });
});
