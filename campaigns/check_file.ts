// The checks file (issue 14 item 5): a developer who posts a patch writes
// it as a variant of a policy and records, in one checked-in JSON file,
// the verdict they expect per property; `npm test` and `mshare-check check`
// fuzz each check within its budget (campaigns/patch_check.ts).
//
// Why JSON and one file: it is the format every other file the tool reads
// from outside already uses (counterexamples, shard manifests), so it goes
// through the same schema checker (reports/schema.ts) and the same
// path-to-line map (reports/json_lines.ts), and a malformed file is one
// line "FILE:LINE: problem" and exit 2 like every other bad input. One file
// at the root (checks.json) is what a reviewer opens to see every claim
// the patches in the tree make.
//
//   {
//     "format": "mshare-check/checks",
//     "version": 1,
//     "checks": [
//       {
//         "name": "flush-lazy-cpus-too",
//         "description": "optional free text",
//         "policy": "linux",
//         "variant": "patches/flush-lazy-cpus-too.ts",   (optional; relative to this file)
//         "seed": "checks", "runs": 400,                  (the budget: deterministic)
//         "ops": ["read", "munmap"],                      (optional; default: the policy's kinds, plus the opt-in kinds whose paths the variant edits)
//         "expect": { "unmap-complete": "holds", ... }
//       }
//     ]
//   }
//
// Per property, the expectation is one of:
//   "holds"                      no run may break it (also the default for a property not listed);
//   ["SIG", ...]                 known signatures (property|holder|function, as campaigns print
//                                them): they may show, counted and not shrunk; any other fails;
//   { "shows": ["SIG", ...] }    each must show within the budget, and nothing else may.
// A known signature that does not show is a changed verdict (a failure)
// only in the "shows" form: fuzzing within a budget proves that a race was
// reached, not that it is gone, so a plain list only notes it.

import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { POLICIES } from '../model/policies/registry.js';
import { OP_KINDS, type OpKind } from '../properties/generate/scenario_arb.js';
import { PROPERTIES } from '../properties/registry.js';
import { jsonLines, lineOf } from '../reports/json_lines.js';
import { checkSchema, type Schema } from '../reports/schema.js';

export const CHECKS_FORMAT = 'mshare-check/checks';
export const CHECKS_VERSION = 1;

/** Per-check run budget: npm test runs every check, so a check stays small. */
export const MAX_CHECK_RUNS = 100_000;

export type Expectation = 'holds' | { known: string[]; mustShow: boolean };

export interface Check {
  name: string;
  description: string | null;
  policy: string;
  /** The variant file as written, and resolved against the checks file's folder. */
  variant: { arg: string; path: string } | null;
  seed: string;
  runs: number;
  ops: OpKind[] | null;
  /** Every property of the registry, those not listed in the file as 'holds'. */
  expect: Record<string, Expectation>;
  /** The line of the check in its file, for messages. */
  line: number;
}

export class CheckFileError extends Error {}

const TEXT = (max: number): Schema => ({ t: 'str', max, pattern: /^[\x20-\x7e]*$/, what: 'printable ASCII text' });
const NAME: Schema = { t: 'str', max: 64, pattern: /^[A-Za-z0-9][A-Za-z0-9_.@:+-]*$/, what: 'a name (letters, digits, _ . @ : + -)' };
const SIGNATURE: Schema = { t: 'str', max: 512, pattern: /^[\x20-\x7b\x7d\x7e]+\|[\x20-\x7b\x7d\x7e]+\|[\x20-\x7b\x7d\x7e]+$/, what: 'a signature property|holder|function' };
const SIGNATURES: Schema = { t: 'arr', of: SIGNATURE, max: 64 };
const EXPECTATION: Schema = {
  t: 'one-of',
  what: '"holds", a list of known signatures, or { "shows": [signatures] }',
  of: [{ t: 'const', value: 'holds' }, SIGNATURES, { t: 'obj', req: { shows: SIGNATURES }, check: (o) => ((o.shows as unknown[]).length === 0 ? '"shows" needs at least one signature (or say "holds")' : null) }],
};

/** A signature listed under a property must be one of that property. */
function expectProblem(o: Record<string, unknown>): string | null {
  for (const [prop, e] of Object.entries(o)) {
    const sigs = Array.isArray(e) ? e : typeof e === 'object' && e !== null ? (e as { shows: string[] }).shows : [];
    const other = (sigs as string[]).find((s) => s.split('|')[0] !== prop);
    if (other !== undefined) return `signature '${other}' is listed under '${prop}': a signature starts with its property`;
  }
  return null;
}

const CHECK: Schema = {
  t: 'obj',
  req: {
    name: NAME,
    policy: { t: 'enum', values: POLICIES.map((p) => p.name) },
    seed: TEXT(256),
    runs: { t: 'int', min: 1, max: MAX_CHECK_RUNS },
    expect: { t: 'obj', req: {}, opt: Object.fromEntries(PROPERTIES.map((p) => [p.id, EXPECTATION])), check: expectProblem },
  },
  opt: {
    description: TEXT(1024),
    variant: { t: 'str', max: 256, pattern: /^[A-Za-z0-9_./-]+\.ts$/, what: 'a relative path to a .ts variant file' },
    ops: { t: 'arr', of: { t: 'enum', values: OP_KINDS }, max: OP_KINDS.length },
  },
};

export const CHECKS_SCHEMA: Schema = {
  t: 'obj',
  req: { format: { t: 'const', value: CHECKS_FORMAT }, version: { t: 'const', value: CHECKS_VERSION }, checks: { t: 'arr', of: CHECK, max: 256 } },
};

interface RawCheck {
  name: string;
  description?: string;
  policy: string;
  variant?: string;
  seed: string;
  runs: number;
  ops?: OpKind[];
  expect: Record<string, string | string[] | { shows: string[] }>;
}

/** Parse and check a checks file; every problem is one line naming the file and line. */
export function parseCheckFile(file: string, text: string): Check[] {
  let x: unknown;
  try {
    x = JSON.parse(text);
  } catch (e) {
    const m = /position (\d+)/.exec((e as Error).message);
    const line = text.slice(0, m ? Number(m[1]) : text.length).split('\n').length; // no position: the end of the input
    throw new CheckFileError(`${file}:${line}: not JSON (${(e as Error).message.split('\n')[0]})`);
  }
  const problem = checkSchema(x, CHECKS_SCHEMA);
  const lines = () => jsonLines(text);
  if (problem) throw new CheckFileError(`${file}:${lineOf(lines(), problem.path)}: ${problem.problem}`);
  const raw = (x as { checks: RawCheck[] }).checks;
  const seen = new Map<string, number>();
  return raw.map((c, i) => {
    const line = lineOf(lines(), `checks.${i}`);
    const dup = seen.get(c.name);
    if (dup !== undefined) throw new CheckFileError(`${file}:${lineOf(lines(), `checks.${i}.name`)}: a second check named '${c.name}' (the first is check ${dup})`);
    seen.set(c.name, i);
    let variant: Check['variant'] = null;
    if (c.variant !== undefined) {
      const path = resolve(dirname(file), c.variant);
      if (!existsSync(path)) throw new CheckFileError(`${file}:${lineOf(lines(), `checks.${i}.variant`)}: no variant file '${c.variant}' (paths are relative to the checks file)`);
      variant = { arg: c.variant, path };
    }
    const expect: Record<string, Expectation> = {};
    for (const p of PROPERTIES) {
      const e = c.expect[p.id] ?? 'holds';
      expect[p.id] = e === 'holds' ? 'holds' : Array.isArray(e) ? { known: [...e], mustShow: false } : { known: [...(e as { shows: string[] }).shows], mustShow: true };
    }
    return { name: c.name, description: c.description ?? null, policy: c.policy, variant, seed: c.seed, runs: c.runs, ops: c.ops ?? null, expect, line };
  });
}
