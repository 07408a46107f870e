// Mutant: should_flush_tlb() without the LOADED_MM_SWITCHING check that
// fea4e317f9e7 ("x86/mm: Eliminate window where TLB flushes may be
// inadvertently skipped", CVE-2025-37964) added. A CPU that is switching
// to the mm, has already read the old tlb_gen and is about to load CR3
// without a flush, shows loaded_mm == LOADED_MM_SWITCHING; the flusher
// does not count that as "the target mm is loaded" and skips it. The
// kernel before fea4e317f9e7 also lacked the smp_mb() of 83b0177a6c48;
// this variant keeps that fence (variants/cve-2025-37964-no-fence.ts
// removes it), so the check alone is what it takes away.
import { nativeFlushTlbMultiSend } from '../model/kernel/paths/flush_tlb_mm_range.js';
import type { Cpu, FlushInfo, KernelState } from '../model/kernel/state.js';
import { readTso } from '../model/kernel/store_buffer.js';
import { defineVariant } from '../model/policies/variant.js';

/** should_flush_tlb() as it was before fea4e317f9e7. */
function shouldFlushTlbOld(_s: KernelState, cpu: Cpu, info: FlushInfo, reader: number): boolean {
  const seen = readTso(reader, cpu);
  if (seen.isLazy) return false;
  if (info.mm === null) return true;
  if (seen.loadedMm === info.mm) return true;
  return info.trimCpumask;
}

export default defineVariant({
  name: 'pre-fea4e317f9e7',
  description: 'should_flush_tlb without the LOADED_MM_SWITCHING check (before fea4e317f9e7)',
  edit: (v) => v.replace('native_flush_tlb_multi.send', nativeFlushTlbMultiSend(shouldFlushTlbOld)),
});
