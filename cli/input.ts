// Reading an input file the user named: it must be a regular file of
// bounded size, checked with stat before anything opens it, so a FIFO
// does not block, /dev/zero does not fill memory and a directory does not
// crash the read. Each problem is one line naming the file (issue 8).

import { readFileSync, statSync, type Stats } from 'node:fs';
import { UsageError } from './errors.js';

/** Scenario and counterexample files larger than this are refused (the corpus files are under 64 KiB). */
export const MAX_INPUT_BYTES = 4 * 1024 * 1024;

function kind(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

export function readInputFile(file: string, maxBytes = MAX_INPUT_BYTES): string {
  let st: Stats;
  try {
    st = statSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`${file}:0: ${code === 'ENOENT' || code === 'ENOTDIR' ? 'no such file' : `cannot stat (${code})`}`);
  }
  if (!st.isFile()) throw new UsageError(`${file}:0: is ${kind(st)}, not a regular file`);
  if (st.size > maxBytes) throw new UsageError(`${file}:0: ${st.size} bytes, above the limit of ${maxBytes}`);
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    throw new UsageError(`${file}:0: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (buf.length > maxBytes) throw new UsageError(`${file}:0: grew above the limit of ${maxBytes} bytes while read`);
  const text = buf.toString('utf8');
  if (text.includes('\ufffd') && !buf.equals(Buffer.from(text, 'utf8'))) throw new UsageError(`${file}:0: not UTF-8 text`);
  if (text.includes('\0')) throw new UsageError(`${file}:${text.slice(0, text.indexOf('\0')).split('\n').length}: a NUL byte (binary file?)`);
  return text;
}
