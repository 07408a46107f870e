// The line each value of a JSON text starts on, by path ("scenario.threads.0.cpu"),
// so an error in a counterexample file names the line a reader fixes.
// Runs only on text JSON.parse has accepted, so it needs no error handling
// beyond not running off the end.

export type JsonLines = Map<string, number>;

export function jsonLines(text: string): JsonLines {
  const lines: JsonLines = new Map();
  let i = 0;
  let line = 1;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i]!)) if (text[i++] === '\n') line++;
  };
  const str = (): string => {
    const start = i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (path: string): void => {
    ws();
    lines.set(path, line);
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') return void i++;
      for (;;) {
        ws();
        const k = str();
        ws();
        i++; // ':'
        value(path === '' ? k : `${path}.${k}`);
        ws();
        if (text[i++] === '}') return;
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') return void i++;
      for (let n = 0; ; n++) {
        value(path === '' ? String(n) : `${path}.${n}`);
        ws();
        if (text[i++] === ']') return;
      }
    }
    if (c === '"') return void str();
    while (i < text.length && !/[\s,\]}]/.test(text[i]!)) i++;
  };
  value('');
  return lines;
}

/** The line of `path` or of its nearest ancestor that has one. */
export function lineOf(lines: JsonLines, path: string): number {
  for (let p = path; ; p = p.includes('.') ? p.slice(0, p.lastIndexOf('.')) : '') {
    const l = lines.get(p);
    if (l !== undefined) return l;
    if (p === '') return 1;
  }
}
