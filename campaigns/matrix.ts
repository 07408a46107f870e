// The policy x property matrix (SPEC 6, 8): for every policy and every
// property, a campaign that checks that property alone, so one finding
// does not hide another. A cell says "holds" with its runs and the
// coverage behind it, or lists the distinct signatures found, each with
// the size of its shortest (shrunk) counterexample. Computed every time;
// nothing here is written down in advance.

import type { Policy } from '../model/policies/policy.js';
import { addCoverage, emptyCoverage, type Coverage } from '../model/run/coverage.js';
import type { Scenario } from '../model/run/scenario.js';
import { fuzz } from './fuzz.js';
import type { Property } from '../properties/property.js';

export interface Signature {
  signature: string;
  runIndex: number;
  runSeed: number;
  /** The campaign seed of the cell. */
  seed: string;
  /** Operations and steps of the shortest counterexample found. */
  ops: number;
  steps: number;
  scenario: Scenario;
  message: string;
  /** The mshare knobs the shortest counterexample's run consulted (reports/depends_on.ts judges them). */
  knobsUsed: string[];
}

export interface Cell {
  policy: string;
  property: string;
  runs: number;
  found: Signature[];
  error: string | null;
}

export interface MatrixResult {
  cells: Cell[];
  coverage: Record<string, Coverage>;
}

export interface MatrixOptions {
  policies: readonly Policy[];
  properties: readonly Property[];
  seed: string;
  runsPerCell: number;
  /** At most this many distinct signatures per cell. */
  maxSignatures?: number;
  onCell?: (c: Cell) => void;
}

const opsOf = (sc: Scenario) => sc.threads.reduce((n, t) => n + t.ops.length, 0);

export function computeMatrix(o: MatrixOptions): MatrixResult {
  const cells: Cell[] = [];
  const coverage: Record<string, Coverage> = {};
  for (const policy of o.policies) {
    const cov = (coverage[policy.name] = emptyCoverage());
    for (const prop of o.properties) {
      const cell: Cell = { policy: policy.name, property: prop.id, runs: 0, found: [], error: null };
      const skip = new Set<string>();
      const seed = `${o.seed}/${policy.name}/${prop.id}`;
      let last: Coverage | null = null;
      for (;;) {
        const r = fuzz({ policy, seed, runs: o.runsPerCell, properties: [prop], skip });
        last = r.coverage; // the last pass: every run of the cell, or those up to the last finding kept
        const f = r.finding;
        if (!f) break;
        if (f.result.verdict === 'model-error') {
          cell.error = f.result.error;
          break;
        }
        skip.add(f.signature);
        cell.found.push({ signature: f.signature, runIndex: f.runIndex, runSeed: f.runSeed, seed, ops: opsOf(f.scenario), steps: f.result.steps, scenario: f.scenario, message: f.result.violation!.message, knobsUsed: f.result.knobsUsed });
        if (cell.found.length >= (o.maxSignatures ?? 4)) break;
      }
      if (last) addCoverage(cov, last);
      cell.runs = o.runsPerCell;
      o.onCell?.(cell);
      cells.push(cell);
    }
  }
  return { cells, coverage };
}
