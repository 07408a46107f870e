// Where things are in this checkout: the project root, which variant paths
// are recorded against whatever the current directory, and the place an
// error was thrown, as a root-relative file:line for one-line messages
// (a model error's verdict, the CLI's internal error).

import { isAbsolute, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = fileURLToPath(new URL('../', import.meta.url));

/** The first TypeScript frame of the error's stack, relative to the project root when inside it. */
export function thrownAt(e: unknown): string | null {
  const m = /\(?([^()\s]+\.ts):(\d+):\d+\)?/.exec((e as Error | undefined)?.stack ?? '');
  if (!m) return null;
  // A frame may name a URL, or (vite's source maps of a variant loaded from
  // a temporary folder) a URL glued after that folder: the URL is the place.
  const url = m[1]!.lastIndexOf('file:');
  const file = url >= 0 ? fileURLToPath(m[1]!.slice(url)) : m[1]!;
  const rel = relative(PROJECT_ROOT, file);
  return `${rel.startsWith('..') || isAbsolute(rel) ? file : rel}:${m[2]}`;
}
