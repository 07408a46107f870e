// The named policies (SPEC 6). Only mainline exists until mshare is
// modelled; any other design is reachable through the variant API.

import { linux } from './linux.js';
import type { Policy } from './policy.js';

export const POLICIES: readonly Policy[] = [linux];

export function policyByName(name: string): Policy | undefined {
  return POLICIES.find((p) => p.name === name);
}
