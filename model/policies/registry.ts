// The named policies (SPEC 6); any other design is reachable through the
// variant API.

import { linux } from './linux.js';
import { MSHARE_2026, MSHARE_POLICIES } from './mshare.js';
import type { Policy } from './policy.js';

export const POLICIES: readonly Policy[] = [linux, ...MSHARE_POLICIES, MSHARE_2026];

export function policyByName(name: string): Policy | undefined {
  return POLICIES.find((p) => p.name === name);
}
