// What the command line reports as bad usage or input (exit 2), and how
// anything echoed from a file or an argument is made safe for a terminal.

export class UsageError extends Error {}

/** Control and format characters (terminal escapes, bidi overrides) as \xNN / \u{N}; one line always. */
export function printable(s: string): string {
  return s.replace(/[\p{Cc}\p{Cf}\u2028\u2029]/gu, (c) => {
    const n = c.codePointAt(0)!;
    return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u{${n.toString(16)}}`;
  });
}
