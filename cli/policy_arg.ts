// --policy and --variant as the command line resolves them: one-line
// errors for an unknown name or a variant that does not fit its policy.

import { POLICIES, policyByName } from '../model/policies/registry.js';
import { applyVariant, VariantError, type VariantSpec } from '../model/policies/variant.js';
import type { Policy } from '../model/policies/policy.js';
import { didYouMean } from '../model/run/nearest.js';
import { UsageError } from './errors.js';

/** A policy by name; `where` ("file:line: ") prefixes the error when the name came from a file. */
export function policy(name: string | undefined, where = ''): Policy {
  if (name === undefined) throw new UsageError('missing --policy (see `mshare-check policies`)');
  const p = policyByName(name);
  if (!p) throw new UsageError(`${where}unknown policy '${name}'${didYouMean(name, POLICIES.map((x) => x.name))} (known: ${POLICIES.map((x) => x.name).join(', ')})`);
  return p;
}

export function edited(p: Policy, spec: VariantSpec, file: string): Policy {
  try {
    return applyVariant(p, spec);
  } catch (e) {
    if (e instanceof VariantError) throw new UsageError(`${file}:1: ${e.message}`);
    throw new UsageError(`${file}:1: the variant's edit() threw ${(e as Error).name}: ${(e as Error).message}`);
  }
}

