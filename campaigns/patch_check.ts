// One check of a checks file (campaigns/check_file.ts): the campaign of
// campaigns/campaign.ts on the check's policy and variant, within its run
// budget and seed, keeping going after a finding, with every signature the
// check lists as known in the skip set (counted, never shrunk). Then the
// verdict, computed from the campaign's signatures (judge()):
//   1. a signature no expectation allows (its property "holds", or it is
//      not in the property's list) is new: the check fails, and its first
//      run was shrunk and handed to onFinding (saved by the caller);
//   2. a signature a { "shows": [...] } expectation requires that no run
//      showed is a changed verdict: the check fails;
//   3. a signature of a plain known list that no run showed is noted only;
//   4. an edit of the check's variant that no run executed fails the check:
//      the campaign never ran the patch, so its "holds" would say nothing.
// Under a run budget the campaign is deterministic (campaign.ts), so the
// same checks file gives the same verdict on any machine and any --jobs.

import type { Check } from './check_file.js';
import { CheckFileError } from './check_file.js';
import { loadVariant } from '../model/policies/load_variant.js';
import { policyByName } from '../model/policies/registry.js';
import { applyVariant, VariantError } from '../model/policies/variant.js';
import { campaignOps } from '../properties/generate/variant_ops.js';
import { makeCtx, runCampaign, type CampaignResult, type CampaignSpec, type Executor, type Shrunk, type SignatureCount } from './campaign.js';

export interface Unexpected {
  count: SignatureCount;
  /** What the checks file says for the signature's property ("holds", or the known list). */
  expected: string;
}

export interface CheckVerdict {
  check: Check;
  /** The policy as shown (policy+variant). */
  shown: string;
  runs: number;
  steps: number;
  signatures: SignatureCount[];
  /** Rule 1: the build fails. */
  unexpected: Unexpected[];
  /** Rule 2: required signatures no run showed; the build fails. */
  missing: string[];
  /** Rule 3: known signatures no run showed; noted only. */
  unseen: string[];
  /** Rule 4: the variant's edits no run executed (PathTable.edits); the build fails. */
  neverRun: string[];
  /** One of the new signatures is a model error (exit 3, not 1). */
  modelError: boolean;
  interrupted: boolean;
  ok: boolean;
}

/** Every signature the check lists, required or not: the campaign's skip set. */
export function knownOf(check: Check): string[] {
  return [...new Set(Object.values(check.expect).flatMap((e) => (e === 'holds' ? [] : e.known)))].sort();
}

const expectationText = (e: Check['expect'][string] | undefined) => (e === undefined ? 'not a property' : e === 'holds' ? 'holds' : `${e.mustShow ? 'shows' : 'known'} ${e.known.join(', ')}`);

/** The verdict of a check from its campaign's result (rules 1-3 above). */
export function judge(check: Check, shown: string, r: Pick<CampaignResult, 'runs' | 'steps' | 'signatures' | 'interrupted' | 'editsRun'>, edits: readonly string[] = []): CheckVerdict {
  const seen = new Set(r.signatures.map((s) => s.signature));
  const unexpected = r.signatures
    .filter((s) => {
      const e = check.expect[s.signature.split('|')[0]!];
      return e === undefined || e === 'holds' || !e.known.includes(s.signature);
    })
    .map((s) => ({ count: s, expected: expectationText(check.expect[s.signature.split('|')[0]!]) }));
  const listed = Object.values(check.expect).filter((e) => e !== 'holds');
  const missing = r.interrupted ? [] : listed.filter((e) => e.mustShow).flatMap((e) => e.known.filter((s) => !seen.has(s)));
  const unseen = r.interrupted ? [] : listed.filter((e) => !e.mustShow).flatMap((e) => e.known.filter((s) => !seen.has(s)));
  const ran = new Set(r.editsRun ?? []);
  const neverRun = r.interrupted ? [] : edits.filter((_, i) => !ran.has(i));
  return {
    check,
    shown,
    runs: r.runs,
    steps: r.steps,
    signatures: r.signatures,
    unexpected,
    missing,
    unseen,
    neverRun,
    modelError: unexpected.some((u) => u.count.signature.startsWith('model-error|')),
    interrupted: r.interrupted,
    ok: !r.interrupted && unexpected.length === 0 && missing.length === 0 && neverRun.length === 0,
  };
}

export interface RunCheckOptions {
  exec: Executor;
  /** Where the executor finds the campaign's code (campaign.ts ctxCache): the check's context is put there. */
  seedCtx: (ctx: ReturnType<typeof makeCtx>) => void;
  signal?: AbortSignal;
  /** Each new signature's first run, shrunk, in run order. */
  onFinding?: (f: Shrunk) => void | Promise<void>;
}

/** The check's campaign spec and the policy it runs (the variant loaded and applied). */
export async function checkSpec(check: Check): Promise<{ spec: CampaignSpec; ctx: ReturnType<typeof makeCtx>; shown: string }> {
  const base = policyByName(check.policy)!;
  const variant = check.variant ? await loadVariant(check.variant.path) : null;
  let policy = base;
  if (variant) {
    try {
      policy = applyVariant(base, variant.spec);
    } catch (e) {
      const why = e instanceof VariantError ? e.message : `the variant's edit() threw ${(e as Error).name}: ${(e as Error).message}`;
      throw new CheckFileError(`${check.variant!.arg}:1: ${why}`);
    }
  }
  const spec: CampaignSpec = {
    policy: base.name,
    variant: variant ? { path: check.variant!.path, sha256: variant.sha256 } : null,
    properties: null,
    ops: check.ops ?? campaignOps(policy).ops,
    seed: check.seed,
    skip: knownOf(check),
  };
  return { spec, ctx: makeCtx(spec, policy, variant), shown: policy.name };
}

export async function runCheck(check: Check, o: RunCheckOptions): Promise<CheckVerdict> {
  const { spec, ctx, shown } = await checkSpec(check);
  o.seedCtx(ctx);
  const r = await runCampaign(o.exec, spec, { lo: 0, hi: check.runs, signal: o.signal, onFinding: o.onFinding });
  return judge(check, shown, r, ctx.policy.edits?.map((e) => e.text));
}
