// Loading a variant file (SPEC 4.4): a TypeScript module outside the model
// whose default export is defineVariant({...}). Its source and hash go into
// every counterexample found with it, so a saved file replays even after
// the variant file changed or is gone.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { VariantSpec } from './variant.js';

export interface LoadedVariant {
  spec: VariantSpec;
  /** Path relative to the project root, as given to --variant. */
  file: string;
  source: string;
  sha256: string;
}

export class VariantLoadError extends Error {}

export const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

function check(mod: unknown, file: string): VariantSpec {
  const spec = (mod as { default?: VariantSpec }).default;
  if (!spec || typeof spec.name !== 'string' || typeof spec.edit !== 'function') {
    throw new VariantLoadError(`${file}:1: the default export is not a defineVariant({ name, description, edit }) object`);
  }
  return spec;
}

export async function loadVariant(file: string, root = process.cwd()): Promise<LoadedVariant> {
  const abs = resolve(root, file);
  if (!existsSync(abs)) throw new VariantLoadError(`${file}:0: no such variant file`);
  const source = readFileSync(abs, 'utf8');
  let mod: unknown;
  try {
    mod = await import(pathToFileURL(abs).href);
  } catch (e) {
    throw new VariantLoadError(`${file}:1: cannot load variant: ${(e as Error).message.split('\n')[0]}`);
  }
  return { spec: check(mod, file), file: relative(root, abs), source, sha256: sha256(source) };
}

/** Load the variant embedded in a counterexample: the file itself if unchanged, else its saved source. */
export async function loadEmbeddedVariant(v: { file: string; source: string; sha256: string }, root = process.cwd()): Promise<LoadedVariant> {
  const abs = resolve(root, v.file);
  if (existsSync(abs) && sha256(readFileSync(abs, 'utf8')) === v.sha256) return loadVariant(v.file, root);
  // Beside the original path, so its relative imports of the model resolve.
  const tmp = join(dirname(abs), `.replay-${v.sha256.slice(0, 12)}-${process.pid}.ts`);
  writeFileSync(tmp, v.source);
  try {
    const mod = await import(pathToFileURL(tmp).href);
    return { spec: check(mod, v.file), file: v.file, source: v.source, sha256: v.sha256 };
  } finally {
    unlinkSync(tmp);
  }
}
