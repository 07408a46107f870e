import type { Property } from './property.js';

export const progress: Property = {
  id: 'progress',
  statement: 'a run finishes within config.maxSteps steps; one that does not (a retry livelock) is reported, never dropped',
  rule: 'every retry loop in the kernel makes progress: the VM_FAULT_RETRY loop of do_user_addr_fault(), the fallback of get_user_pages_fast() to the slow path; docs/kernel-facts.md F7',
  check({ s, budgetExhausted }) {
    if (!budgetExhausted) return null;
    return { holder: 'scheduler', message: `no progress within ${s.config.maxSteps} steps (retry livelock?)` };
  },
};
