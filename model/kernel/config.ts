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
  /**
   * X86_FEATURE_INVLPGB (AMD Zen 3+, used since v6.15): flush_tlb_all() and
   * range flushes broadcast without IPIs. 0 or 1; off by default.
   */
  invlpgb: number;
  /**
   * CONFIG_PT_RECLAIM (def_bool y on x86-64 with MMU_GATHER_RCU_TABLE_FREE):
   * MADV_DONTNEED frees PTE tables it emptied. 0 or 1; on by default.
   */
  ptReclaim: number;
  /**
   * AMD's Translation Cache Extension (EFER.TCE, set by init_amd() when the
   * CPU has it, v6.15+): INVLPG drops only the paging-structure-cache
   * entries on the walk to its address; 0 is Intel's INVLPG, which drops
   * every PSC entry of the PCID (SDM 4.10.4.1). 0 or 1; on by default, as
   * the weaker of the two x86 behaviours Linux runs on.
   */
  tce: number;
}

/** Config keys that are on/off switches (0 or 1) rather than sizes. */
export const CONFIG_FLAGS: readonly (keyof Config)[] = ['invlpgb', 'ptReclaim', 'tce'];

export const DEFAULT_CONFIG: Config = {
  fanout: 4,
  frames: 40,
  cpus: 2,
  pcids: 2,
  flushCeiling: 33,
  maxSteps: 4000,
  invlpgb: 0,
  ptReclaim: 1,
  tce: 1,
};

export const LEVELS = 4; // PGD, PUD, PMD, PTE (P4D folded into the PGD)

/**
 * Upper bounds, so a hostile or mistyped file is refused at validation
 * instead of exhausting memory (issue 8): far above any scope the model is
 * meant for (SPEC 3: a handful of frames, 2-4 CPUs), far below what would
 * not fit in a few hundred MiB.
 */
export const CONFIG_LIMITS: Config = {
  fanout: 16,
  frames: 4096,
  cpus: 8,
  pcids: 12, // x86 has TLB_NR_DYN_ASIDS = 6; room for experiments
  flushCeiling: 65536,
  maxSteps: 1_000_000,
  invlpgb: 1,
  ptReclaim: 1,
  tce: 1,
};

export function resolveConfig(partial: Partial<Config> = {}): Config {
  for (const k of Object.keys(partial)) {
    if (!(k in DEFAULT_CONFIG)) throw new RangeError(`unknown config key '${k}' (known: ${Object.keys(DEFAULT_CONFIG).join(', ')})`);
  }
  const c = { ...DEFAULT_CONFIG, ...partial };
  for (const [k, v] of Object.entries(c) as [keyof Config, unknown][]) {
    if (CONFIG_FLAGS.includes(k)) {
      if (v !== 0 && v !== 1) throw new RangeError(`config ${k} must be 0 or 1, got ${String(v)}`);
      continue;
    }
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new RangeError(`config ${k} must be a positive integer, got ${String(v)}`);
    if (v > CONFIG_LIMITS[k]) throw new RangeError(`config ${k}=${v} is above the limit of ${CONFIG_LIMITS[k]}`);
  }
  if (c.fanout < 2) throw new RangeError('config fanout must be at least 2');
  return c;
}

/** Pages covered by one entry at `level` (1 = PTE). */
export const span = (c: Config, level: number) => c.fanout ** (level - 1);
/** Number of user pages addressable with four levels. */
export const vaPages = (c: Config) => c.fanout ** LEVELS;
