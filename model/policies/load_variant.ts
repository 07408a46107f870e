// Loading a variant (SPEC 4.4): a TypeScript module whose default export is
// defineVariant({...}). Its source and hash go into every counterexample
// found with it, so a saved file replays even after the variant changed.
//
// A counterexample file is untrusted input (it arrives from a mailing
// list), and its embedded variant is code. The contract:
//   1. Nothing embedded runs unless the caller says so: loadEmbeddedVariant
//      takes an explicit trust decision (the CLI's --trust-variant, or a
//      local file the user named whose hash matches).
//   2. The embedded source must hash to its recorded sha256.
//   3. Code runs from a fresh folder under os.tmpdir(), never from the
//      source tree or the current directory, and the folder is removed as
//      soon as the module is loaded, on error, on exit and on SIGINT.
//   4. Every loop of the code is charged to a budget (variant_budget.ts).

import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { VariantSpec } from './variant.js';
import { resetVariantBudget, setVariantBudgetOwner } from './variant_budget.js';
import { PROJECT_ROOT } from '../source_location.js';

export interface LoadedVariant {
  spec: VariantSpec;
  /** Path relative to the project root (the place its relative imports resolve from). */
  file: string;
  source: string;
  sha256: string;
}

export interface EmbeddedVariant {
  name: string;
  file: string;
  sha256: string;
  source: string;
}

export class VariantLoadError extends Error {}

const BUDGET_MODULE = fileURLToPath(new URL('./variant_budget.ts', import.meta.url));

/** Variant sources larger than this are refused before anything reads them whole. */
export const MAX_VARIANT_BYTES = 256 * 1024;

export const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

function check(mod: unknown, file: string): VariantSpec {
  const spec = (mod as { default?: VariantSpec }).default;
  if (!spec || typeof spec.name !== 'string' || typeof spec.edit !== 'function') {
    throw new VariantLoadError(`${file}:1: the default export is not a defineVariant({ name, description, edit }) object`);
  }
  return spec;
}

/** Temporary folders of variants being imported right now, removed by every exit path. */
const live = new Set<string>();
const removeLive = () => {
  for (const d of live) rmSync(d, { recursive: true, force: true });
  live.clear();
};
let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', removeLive);
}

/** Import `source` as if it were the file at `writtenAt`, from a fresh temporary folder. */
async function importFromTemp(source: string, writtenAt: string, label: string): Promise<unknown> {
  hookExit();
  const dir = mkdtempSync(join(tmpdir(), 'mshare-check-variant-'));
  live.add(dir);
  // Only while the import is under way: once loaded, nothing is left on disk.
  const onSigint = () => {
    removeLive();
    process.exit(130);
  };
  process.once('SIGINT', onSigint);
  try {
    const out = join(dir, 'variant.mjs');
    // Loaded here, not at start-up: the TypeScript compiler costs about half a second, and most commands load no variant.
    const { instrumentVariant } = await import('./instrument.js');
    writeFileSync(out, instrumentVariant(source, writtenAt, BUDGET_MODULE), { flag: 'wx' });
    setVariantBudgetOwner(label);
    process.setSourceMapsEnabled(true); // stack traces point into the variant's own source
    resetVariantBudget();
    return await import(pathToFileURL(out).href);
  } catch (e) {
    if (e instanceof VariantLoadError) throw e;
    throw new VariantLoadError(`${label}:1: cannot load variant: ${(e as Error).message.split('\n')[0]}`);
  } finally {
    process.removeListener('SIGINT', onSigint);
    rmSync(dir, { recursive: true, force: true });
    live.delete(dir);
  }
}

/** A variant file the user named (--variant F), relative to the current directory. */
export async function loadVariant(file: string, cwd = process.cwd()): Promise<LoadedVariant> {
  const abs = resolve(cwd, file);
  let st;
  try {
    st = statSync(abs);
  } catch {
    throw new VariantLoadError(`${file}:0: no such variant file`);
  }
  if (!st.isFile()) throw new VariantLoadError(`${file}:0: not a regular file`);
  if (st.size > MAX_VARIANT_BYTES) throw new VariantLoadError(`${file}:0: variant file larger than ${MAX_VARIANT_BYTES} bytes`);
  let source: string;
  try {
    source = readFileSync(abs, 'utf8');
  } catch (e) {
    throw new VariantLoadError(`${file}:0: cannot read variant file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const mod = await importFromTemp(source, abs, file);
  return { spec: check(mod, file), file: relative(PROJECT_ROOT, abs), source, sha256: sha256(source) };
}

/** Why an embedded variant may run: the user said so, or named a local copy with the same hash. */
export type VariantTrust = { kind: 'trust-variant' } | { kind: 'local-copy'; variant: LoadedVariant };

/** A variant path recorded in a file: relative, plain characters, TypeScript. */
const SAFE_PATH = /^(?:[A-Za-z0-9_+@-][A-Za-z0-9_.+@-]*\/|\.\.\/)*[A-Za-z0-9_+@-][A-Za-z0-9_.+@-]*\.ts$/;

/**
 * The checks that need no code to run: shape, size and hash. Throws with
 * `where` (file:line), computed only when there is something to report.
 */
export function checkEmbeddedVariant(v: EmbeddedVariant, where: string | (() => string)): void {
  const fail = (problem: string): never => {
    throw new VariantLoadError(`${typeof where === 'string' ? where : where()}: ${problem}`);
  };
  if (!SAFE_PATH.test(v.file) || isAbsolute(v.file)) fail(`variant file name '${v.file}' is not a plain relative .ts path`);
  if (Buffer.byteLength(v.source) > MAX_VARIANT_BYTES) fail(`embedded variant larger than ${MAX_VARIANT_BYTES} bytes`);
  if (!/^[0-9a-f]{64}$/.test(v.sha256)) fail('variant sha256 is not 64 hex digits');
  if (sha256(v.source) !== v.sha256) fail(`embedded variant '${v.name}' does not match its sha256 (the file was altered)`);
}

/** Load the variant embedded in a counterexample, under an explicit trust decision. */
export async function loadEmbeddedVariant(v: EmbeddedVariant, trust: VariantTrust, where = v.file): Promise<LoadedVariant> {
  checkEmbeddedVariant(v, where);
  if (trust.kind === 'local-copy') {
    if (trust.variant.sha256 !== v.sha256) throw new VariantLoadError(`${trust.variant.file}:0: sha256 ${trust.variant.sha256.slice(0, 12)} differs from the embedded variant's ${v.sha256.slice(0, 12)}`);
    return trust.variant;
  }
  const mod = await importFromTemp(v.source, resolve(PROJECT_ROOT, v.file), `${v.file} (embedded)`);
  return { spec: check(mod, v.file), file: v.file, source: v.source, sha256: v.sha256 };
}

/**
 * For the project's own corpus (tests, goldens, bench): trust an embedded
 * variant only when it is byte for byte a file of this checkout's
 * variants/ folder, which holds nothing but defineVariant modules. With
 * `edited` (bench/research_corpus.ts re-searching after a kept mutant was
 * edited), the same file of variants/ is loaded as it is now, whatever the
 * file embeds.
 */
export async function loadCorpusVariant(v: EmbeddedVariant, opts: { edited?: boolean } = {}): Promise<LoadedVariant> {
  checkEmbeddedVariant(v, v.file);
  const local = resolve(PROJECT_ROOT, v.file);
  if (!/^variants\/[A-Za-z0-9_.+-]+\.ts$/.test(v.file)) throw new VariantLoadError(`${v.file}:0: not a file of variants/; replay it with --trust-variant`);
  let text: string;
  try {
    text = readFileSync(local, 'utf8');
  } catch {
    throw new VariantLoadError(`${v.file}:0: no such local variant`);
  }
  if (!opts.edited && sha256(text) !== v.sha256) throw new VariantLoadError(`${v.file}:0: the local file differs from the embedded variant`);
  return loadVariant(local, PROJECT_ROOT);
}
