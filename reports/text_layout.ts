// Plain-text layout for mailing-list reports: word wrapping to a width,
// shell commands split with backslash-newline, and the width check.
// linux-mm reviewers reflow to 72 columns (research/testing-anchors.md
// 4.3), so nothing printed may be wider.

export const WIDTH = 72;

/** Wrap `text` to `width`; continuation lines start with `cont` spaces. Words longer than a line are cut, at a separator if one is near. */
export function wrap(text: string, width: number, cont = 0): string[] {
  const lead = /^ */.exec(text)![0];
  const words = text.slice(lead.length).split(/ +/).filter((w) => w !== '');
  const out: string[] = [];
  let line = lead;
  let fresh = true;
  const room = () => width - line.length;
  for (let w of words) {
    const sep = fresh ? '' : ' ';
    if (sep.length + w.length <= room()) {
      line += sep + w;
      fresh = false;
      continue;
    }
    if (!fresh) {
      out.push(line);
      line = ' '.repeat(cont);
    }
    while (w.length > room()) {
      // Cut an identifier after '_', ':', '/', '.', '-' or '(' when one falls far enough into the line.
      let cut = Math.max(1, room());
      for (let i = cut; i > cut / 3; i--) {
        if ('_:/.-('.includes(w[i - 1]!)) {
          cut = i;
          break;
        }
      }
      out.push(line + w.slice(0, cut));
      w = w.slice(cut);
      line = ' '.repeat(cont);
    }
    line += w;
    fresh = false;
  }
  out.push(line);
  return out.map((l) => l.trimEnd());
}

/** `label` padded to `pad`, then `value` wrapped under it. */
export function field(label: string, value: string, pad = 11): string[] {
  return wrap(value, WIDTH - pad).map((l, i) => (i === 0 ? label.padEnd(pad) : ' '.repeat(pad)) + l);
}

/** A paragraph as a "- " item wrapped to the width. */
export const item = (text: string) => wrap(`- ${text}`, WIDTH, 2);

/**
 * A shell command over several lines that pastes back as one: each line
 * but the last ends in a backslash and the next starts in column 0, so
 * the shell removes the backslash-newline even inside a word (POSIX
 * 2.2.1). Breaks after '/', '-', '+', '.' or a space when it can.
 */
export function shellLines(cmd: string, indent = 2): string[] {
  const out: string[] = [];
  let rest = cmd;
  let pre = ' '.repeat(indent);
  while (pre.length + rest.length > WIDTH) {
    const max = WIDTH - 1 - pre.length;
    const ok = (i: number) => rest[i - 1] !== '\\' && (i < 2 || rest[i - 2] !== '\\');
    // The rightmost break of the best kind; the first kind that leaves a remainder fitting one line wins.
    const breaks = [' ', '/', '-+.'].map((set) => {
      for (let i = max; i > 8; i--) if (set.includes(rest[i - 1]!) && ok(i)) return i;
      return 0;
    }).filter((i) => i > 0);
    let k = breaks.find((i) => rest.length - i <= WIDTH - 1) ?? breaks[0] ?? max;
    while (k > 1 && !ok(k)) k--; // never split an escape
    out.push(pre + rest.slice(0, k) + '\\');
    rest = rest.slice(k);
    pre = '';
  }
  out.push(pre + rest);
  return out;
}

export class ReportWidthError extends Error {
  override name = 'ReportWidthError';
}

/** Every line at most WIDTH columns and plain printable ASCII. */
export function assertPlain(text: string): string {
  text.split('\n').forEach((l, i) => {
    if (l.length > WIDTH) throw new ReportWidthError(`report line ${i + 1} is ${l.length} columns (max ${WIDTH}): ${l}`);
    if (!/^[\x20-\x7e]*$/.test(l)) throw new ReportWidthError(`report line ${i + 1} is not plain ASCII: ${JSON.stringify(l)}`);
  });
  return text;
}
