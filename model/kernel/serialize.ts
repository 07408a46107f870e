// One canonical serialization of the whole state (STYLE.md rule 11): keys
// sorted at every level, so equal states give equal strings for hashing,
// deduplication and shrinking.

import { createHash } from 'node:crypto';
import type { KernelState } from './state.js';

export type Canonical = string & { readonly __brand: 'Canonical' };

function sortKeys(_k: string, v: unknown): unknown {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    return Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, (v as Record<string, unknown>)[k]]));
  }
  return v;
}

export function canonicalJson(x: unknown): string {
  return JSON.stringify(x, sortKeys);
}

export function serializeState(s: KernelState): Canonical {
  return canonicalJson(s) as Canonical;
}

export function hashState(s: KernelState): string {
  return createHash('sha256').update(serializeState(s)).digest('hex').slice(0, 16);
}
