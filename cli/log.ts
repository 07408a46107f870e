// The campaign log: pino, JSON lines on stderr; on a terminal a short
// readable line instead. Timestamps live only here, never in results.

import pino, { type Logger } from 'pino';

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

function readable(line: string): string {
  const o = JSON.parse(line) as Record<string, unknown>;
  const { level, time, msg, pid: _p, hostname: _h, ...rest } = o;
  const t = new Date(time as number).toISOString().slice(11, 19);
  const kv = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  return `${t} ${LEVELS[level as number] ?? level} ${msg ?? ''} ${kv.join(' ')}`.trimEnd() + '\n';
}

export function makeLogger(): Logger {
  const level = process.env.MSHARE_LOG ?? 'info';
  const pretty = process.stderr.isTTY && process.env.MSHARE_LOG_JSON === undefined;
  const dest = { write: (s: string) => process.stderr.write(pretty ? readable(s) : s) };
  return pino({ level, base: undefined }, dest);
}
