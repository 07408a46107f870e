// One typed configuration for every bound of the model (STYLE.md rule 12).
// Sizes are scaled down from x86-64 (SPEC section 3); every default is
// documented here and printed in report headers.

export interface Config {
  /** Entries per page-table page at every level (x86-64: 512). Four levels. */
  fanout: number;
  /** Physical frames, data and page tables together. */
  frames: number;
  /** CPUs. */
  cpus: number;
  /** PCID slots per CPU (x86 TLB_NR_DYN_ASIDS = 6); fewer than processes by default. */
  pcids: number;
  /** tlb_single_page_flush_ceiling: ranges longer than this are flushed whole. */
  flushCeiling: number;
  /** Step budget of one run; a run that exhausts it is a `progress` violation. */
  maxSteps: number;
}

export const DEFAULT_CONFIG: Config = {
  fanout: 4,
  frames: 40,
  cpus: 2,
  pcids: 2,
  flushCeiling: 33,
  maxSteps: 4000,
};

export const LEVELS = 4; // PGD, PUD, PMD, PTE (P4D folded into the PGD)

export function resolveConfig(partial: Partial<Config> = {}): Config {
  const c = { ...DEFAULT_CONFIG, ...partial };
  for (const [k, v] of Object.entries(c)) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`config ${k} must be a positive integer, got ${v}`);
  }
  if (c.fanout < 2) throw new RangeError('config fanout must be at least 2');
  return c;
}

/** Pages covered by one entry at `level` (1 = PTE). */
export const span = (c: Config, level: number) => c.fanout ** (level - 1);
/** Number of user pages addressable with four levels. */
export const vaPages = (c: Config) => c.fanout ** LEVELS;
