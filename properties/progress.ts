import type { Property } from './property.js';

export const progress: Property = {
  id: 'progress',
  statement: 'a run finishes within config.maxSteps steps; one that does not (a retry livelock) is reported, never dropped',
  rule: 'every retry loop in the kernel (fault retry, GUP-fast fallback, KVM retry) makes progress',
  check({ s, budgetExhausted }) {
    if (!budgetExhausted) return null;
    return { holder: 'scheduler', message: `no progress within ${s.config.maxSteps} steps (retry livelock?)` };
  },
};
