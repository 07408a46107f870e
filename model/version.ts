// Bumped whenever a change to the model can change a verdict or a trace;
// saved counterexamples record it, and a stale one is re-searched.
// 0.4.1: get_user_pages honours gup=refused through an msharefs VMA (no
// walk, no pin); no named policy uses that knob value.
// 0.5.0 (issue 9): flush granularity (cleared_* levels, stride, INVLPG per
// stride, INVLPG's architectural effect with AMD's TCE as config `tce`),
// x86-TSO store buffers for loaded_mm / is_lazy, rwsem wait lists, per-VMA
// locks, split PMD locks, PT_RECLAIM, the need_resched break, INVLPGB,
// exit as Linux does it, IPI handlers that own their CPU; the generator
// makes whole-table regions and the tlb_remove_table fallback.
// 0.5.1: a sharer's window VMA and an msharefs inner VMA are linked
// write-locked (per-VMA locks), as mmap_region() links every new VMA.
export const MODEL_VERSION = '0.5.1';
