// "Did you mean": the known name closest to a misspelt one, by edit
// distance, offered only when it is close enough to be a typo.

function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** The nearest of `known` to `name` (ties: the first in sorted order), or null if none is within a third of its length. */
export function nearest(name: string, known: Iterable<string>): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const k of [...known].sort()) {
    const d = distance(name, k);
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best !== null && bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : null;
}

export const didYouMean = (name: string, known: Iterable<string>): string => {
  const n = nearest(name, known);
  return n === null ? '' : ` (did you mean '${n}'?)`;
};
