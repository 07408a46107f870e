// The progress line of a campaign (issue 14): runs, rate, ETA, findings
// and the shrink under way, redrawn in place on stderr when stderr is a
// terminal, at most ten times a second; nothing at all otherwise (logs and
// pipes get the summary only). Lines printed on stdout meanwhile clear it
// first, so the two never mix on one terminal line.

import type { Progress } from '../campaigns/campaign.js';

/** A terminal on stderr (cli/run.ts passes one only when process.stderr.isTTY). */
export interface Tty {
  write(s: string): void;
  columns?: number;
}

const n = (x: number) => x.toLocaleString('en-US');

function clock(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** One line: "runs 1,250/20,000 (6%), 830 runs/s, ETA 0:20, 2 findings, shrinking SIG (run 345)". */
export function progressText(p: Progress, elapsedMs: number, budgetMs?: number): string {
  const rate = elapsedMs > 0 ? (p.done * 1000) / elapsedMs : 0;
  const parts = [p.total === null ? `runs ${n(p.done)}` : `runs ${n(p.done)}/${n(p.total)} (${Math.floor((100 * p.done) / Math.max(1, p.total))}%)`, `${n(Math.round(rate))} runs/s`];
  if (p.total !== null) parts.push(rate > 0 ? `ETA ${clock(((p.total - p.done) * 1000) / rate)}` : 'ETA -');
  else if (budgetMs !== undefined) parts.push(`ETA ${clock(budgetMs - elapsedMs)}`);
  parts.push(`${p.findings} finding${p.findings === 1 ? '' : 's'}`);
  if (p.shrinking) parts.push(`shrinking ${p.shrinking.signature} (run ${p.shrinking.index})`);
  return parts.join(', ');
}

export class ProgressLine {
  private shown = false;
  private last = -Infinity;
  private latest: Progress | null = null;
  private readonly t0: number;

  constructor(
    private readonly tty: Tty | undefined,
    private readonly label: string,
    private readonly budgetMs?: number,
    private readonly now: () => number = Date.now,
  ) {
    this.t0 = now();
  }

  update(p: Progress): void {
    if (!this.tty) return;
    this.latest = p;
    const t = this.now();
    if (t - this.last < 100) return;
    this.last = t;
    this.draw();
  }

  private draw(): void {
    if (!this.tty || !this.latest) return;
    const width = Math.max(20, (this.tty.columns ?? 100) - 1);
    const text = `${this.label}: ${progressText(this.latest, this.now() - this.t0, this.budgetMs)}`;
    this.tty.write(`\r\x1b[K${text.length > width ? `${text.slice(0, width - 1)}…` : text}`);
    this.shown = true;
  }

  /** Erase the line (before anything else is printed); the next update draws it again. */
  clear(): void {
    if (!this.tty || !this.shown) return;
    this.tty.write('\r\x1b[K');
    this.shown = false;
    this.last = -Infinity;
  }
}
