// The policy x property matrix (SPEC 6, 8): for every policy and every
// property, a campaign that checks that property alone, so one finding
// does not hide another. A cell says "holds" with its runs and the
// coverage behind it, or lists every distinct signature found with the
// runs that showed it and the size of its shortest (shrunk)
// counterexample. Each cell is a campaign of campaign.ts: it keeps going
// to its budget, and runs on this thread (computeMatrix) or on the
// workers of --jobs (computeMatrixOn) with identical results. Computed
// every time; nothing here is written down in advance. The cells of
// KVM's properties draw VMs (cellOps).

import type { Policy } from '../model/policies/policy.js';
import { addCoverage, emptyCoverage, type Coverage } from '../model/run/coverage.js';
import type { Scenario } from '../model/run/scenario.js';
import { opKindsAccepted, opKindsFor, type OpKind } from '../properties/generate/scenario_arb.js';
import { SECONDARY_MMU_PROPERTIES } from '../properties/registry.js';
import type { Property } from '../properties/property.js';
import type { CounterexampleFile } from '../reports/counterexample.js';
import { makeCtx, runCampaign, runCampaignSync, type CampaignResult, type CampaignSpec, type Executor, type SignatureCount } from './campaign.js';

export interface Signature {
  signature: string;
  runIndex: number;
  runSeed: number;
  /** The campaign seed of the cell. */
  seed: string;
  /** Runs of the cell that showed it. */
  count: number;
  /** Operations and steps of the shortest counterexample found. */
  ops: number;
  steps: number;
  scenario: Scenario;
  message: string;
  /** The counterexample file that replays it. */
  cx: CounterexampleFile;
}

export interface Cell {
  policy: string;
  property: string;
  runs: number;
  found: Signature[];
  /** Every distinct signature of the cell with its count, skipped (known) and unshrunk ones included. */
  signatures: SignatureCount[];
  error: string | null;
}

export interface MatrixResult {
  cells: Cell[];
  coverage: Record<string, Coverage>;
  interrupted?: boolean;
}

export interface MatrixOptions {
  policies: readonly Policy[];
  properties: readonly Property[];
  seed: string;
  runsPerCell: number;
  /** Shrink at most this many distinct signatures per cell (the others are counted); all by default. */
  maxSignatures?: number;
  /** Known signatures per policy name: counted, not shrunk. */
  skip?: Record<string, string[]>;
  onCell?: (c: Cell) => void;
}

/**
 * The kinds a cell draws: the policy's defaults, plus `vm` for the
 * properties that look only at KVM state (SECONDARY_MMU_PROPERTIES), on
 * the policies whose generator draws VMs; elsewhere such a cell would
 * "hold" with nothing to check, and is left out (matrixCells).
 */
export function cellOps(policy: Policy, prop: Property): OpKind[] | null {
  if (!SECONDARY_MMU_PROPERTIES.includes(prop.id)) return opKindsFor(policy.mshare);
  return opKindsAccepted(policy.mshare).includes('vm') ? [...opKindsFor(policy.mshare), 'vm'] : null;
}

/** The cells of the matrix, policy by policy, in property order: every pair that has something to check. */
export function matrixCells(o: Pick<MatrixOptions, 'policies' | 'properties'>): { policy: Policy; prop: Property }[] {
  return o.policies.flatMap((policy) => o.properties.filter((prop) => cellOps(policy, prop) !== null).map((prop) => ({ policy, prop })));
}

export function cellSpec(o: MatrixOptions, policy: Policy, prop: Property): CampaignSpec {
  return { policy: policy.name, variant: null, properties: [prop.id], ops: cellOps(policy, prop)!, seed: `${o.seed}/${policy.name}/${prop.id}`, skip: o.skip?.[policy.name] ?? [] };
}

function cellOf(policy: Policy, prop: Property, spec: CampaignSpec, r: CampaignResult): Cell {
  const count = new Map(r.signatures.map((s) => [s.signature, s.count]));
  const errors = r.findings.filter((f) => f.cx.verdict.result === 'model-error');
  const found = r.findings
    .filter((f) => f.cx.verdict.result !== 'model-error')
    .map((f) => ({ signature: f.signature, runIndex: f.index, runSeed: f.runSeed, seed: spec.seed, count: count.get(f.signature)!, ops: f.ops, steps: f.steps, scenario: f.cx.scenario, message: f.cx.verdict.message!, cx: f.cx }));
  return { policy: policy.name, property: prop.id, runs: r.runs, found, signatures: r.signatures, error: errors[0]?.cx.verdict.message ?? null };
}

/** On this thread, synchronously. */
export function computeMatrix(o: MatrixOptions): MatrixResult {
  const cells: Cell[] = [];
  const coverage: Record<string, Coverage> = {};
  for (const { policy, prop } of matrixCells(o)) {
    const cov = (coverage[policy.name] ??= emptyCoverage());
    const spec = cellSpec(o, policy, prop);
    const r = runCampaignSync(makeCtx(spec, policy, null), 0, o.runsPerCell, o.maxSignatures);
    addCoverage(cov, r.coverage);
    const cell = cellOf(policy, prop, spec, r);
    o.onCell?.(cell);
    cells.push(cell);
  }
  return { cells, coverage };
}

/** Every cell at once on `exec` (the --jobs workers), reported in cell order; policies must be the registry's. */
export async function computeMatrixOn(exec: Executor, o: MatrixOptions & { signal?: AbortSignal }): Promise<MatrixResult> {
  const jobs = matrixCells(o).map(({ policy, prop }) => {
    const spec = cellSpec(o, policy, prop);
    return { policy, prop, spec, result: runCampaign(exec, spec, { lo: 0, hi: o.runsPerCell, signal: o.signal, shrinkLimit: o.maxSignatures }) };
  });
  for (const j of jobs) j.result.catch(() => {}); // awaited below, in order
  const cells: Cell[] = [];
  const coverage: Record<string, Coverage> = {};
  for (const j of jobs) {
    const r = await j.result;
    if (r.interrupted) return { cells, coverage, interrupted: true };
    addCoverage((coverage[j.policy.name] ??= emptyCoverage()), r.coverage);
    const cell = cellOf(j.policy, j.prop, j.spec, r);
    o.onCell?.(cell);
    cells.push(cell);
  }
  return { cells, coverage };
}
