// The policy a saved counterexample replays under, and the trust decision
// for the variant it embeds (issue 8). The embedded variant is TypeScript
// from whoever sent the file; it runs only when the user says so:
//   1. its name, hash and size are shown, and its hash is verified, always;
//   2. --variant F runs the user's own file F (the embedded one's local
//      copy when the hashes match, otherwise F instead of it);
//   3. --trust-variant runs the embedded source (load_variant.ts: from a
//      temporary folder, loops budgeted);
//   4. --policy P alone replays under P without any variant;
//   5. otherwise nothing runs: exit 2 with one line saying how to proceed.

import { checkEmbeddedVariant, loadEmbeddedVariant, loadVariant } from '../model/policies/load_variant.js';
import type { Policy } from '../model/policies/policy.js';
import { policyByName } from '../model/policies/registry.js';
import type { CounterexampleFile } from '../reports/counterexample.js';
import { jsonLines, lineOf } from '../reports/json_lines.js';
import { UsageError } from './errors.js';
import { edited, policy } from './policy_arg.js';

export interface TrustFlags {
  policy?: string;
  variant?: string;
  'trust-variant'?: boolean;
}

export async function savedPolicy(cx: CounterexampleFile, file: string, text: string, flags: TrustFlags, note: (line: string) => void): Promise<Policy> {
  const base = flags.policy !== undefined ? policy(flags.policy) : policyByName(cx.policy) ?? policy(cx.policy, `${file}:${lineOf(jsonLines(text), 'policy')}: `);
  const v = cx.variant;
  if (v) {
    checkEmbeddedVariant(v, () => `${file}:${lineOf(jsonLines(text), 'variant.sha256')}`);
    // Shown before anything of it runs; a refusal below says the same in its one line.
    if (flags.variant !== undefined || flags['trust-variant'] || flags.policy !== undefined) note(`variant: ${v.name} (${v.file}), sha256 ${v.sha256}, ${Buffer.byteLength(v.source)} bytes of TypeScript embedded in ${file}`);
  }
  if (flags.variant !== undefined) {
    const local = await loadVariant(flags.variant);
    if (v) note(local.sha256 === v.sha256 ? `variant: running your local copy ${flags.variant} (same sha256)` : `variant: running ${flags.variant} (sha256 ${local.sha256.slice(0, 12)}) instead of the embedded one`);
    return edited(base, local.spec, flags.variant);
  }
  if (!v) {
    if (flags['trust-variant']) throw new UsageError(`${file}: embeds no variant (--trust-variant has nothing to run)`);
    return base;
  }
  if (flags['trust-variant']) {
    const loaded = await loadEmbeddedVariant(v, { kind: 'trust-variant' }, `${file} (embedded variant ${v.file})`);
    return edited(base, loaded.spec, `${file} (embedded variant ${v.file})`);
  }
  if (flags.policy !== undefined) {
    note(`variant: not run (--policy ${flags.policy} given without --variant or --trust-variant)`);
    return base;
  }
  throw new UsageError(
    `${file}: embeds variant '${v.name}' (sha256 ${v.sha256.slice(0, 12)}, ${Buffer.byteLength(v.source)} bytes of TypeScript) that would run as code: read it, then add --trust-variant, or --variant F to use your local copy`,
  );
}
