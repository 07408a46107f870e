// IOMMU Shared Virtual Addressing (SVA): a device bound to a process's mm
// (iommu_sva_bind_device(), drivers/iommu/iommu-sva.c) issues DMA with the
// mm's PASID; the IOMMU translates it by walking the CPU page tables from
// mm->pgd (intel_svm_set_dev_pasid() -> __domain_setup_first_level(...,
// mm->pgd, ...), drivers/iommu/intel/svm.c), and the device caches the
// leaf translations in its ATC (PCIe ATS device TLB). The IOMMU's own
// IOTLB is folded into that one cache: it is invalidated by the same call
// (cache_tag_flush_range()). Its first-level paging-structure cache is
// kept apart (`psc`), as the CPU's is (tlb.ts): the walk starts from the
// deepest entry cached for the address and caches every upper entry it
// reads, so a table the CPU side frees can still be walked by the IOMMU
// unless the invalidation reached the PSC first. cache_tag_flush_range()
// is called with ih = 0 from intel_arch_invalidate_secondary_tlbs(), and
// a PASID-based IOTLB invalidation with IH clear also invalidates the
// paging-structure-cache entries of the PASID (VT-d spec 6.5.2.4, "IH");
// the model drops those whose range overlaps the invalidated one (the
// model's reading: entries for the whole PASID may go too, which would
// only make the device forget more).
//
// The driver registers an MMU notifier on the mm when the SVA domain is
// allocated (intel_svm_domain_alloc() -> mmu_notifier_register()) with
// ops .arch_invalidate_secondary_tlbs and .release only (intel_mmuops):
// no invalidate_range_start/end. So only the CPU TLB flush functions
// reach it (flush_tlb_mm_range(), arch_tlbbatch_add_pending(): paths/
// sva.ts), synchronously: cache_tag_flush_range() waits for the
// invalidation's completion. At exit, .release (intel_mm_release())
// tears the PASID entry down: no more translation for the device.

import type { MmId, Pfn } from '../types.js';

/** A leaf translation in the device's ATC: page -> frame, as the IOMMU's walk found it. */
export interface AtcEntry {
  vpn: number;
  pfn: Pfn;
  writable: boolean;
  dirty: boolean;
  /** Ghost: allocation id of the frame when the entry was filled. */
  ghost: number;
  /** Ghost: the clock at fill (unmap-complete compares it with the zap). */
  filled: number;
}

/** A first-level paging-structure-cache entry: the table at `level` for the addresses of `prefix` (tablePrefix()), as the walk read it from the entry above. */
export interface IommuPscEntry {
  level: number;
  prefix: number;
  pfn: Pfn;
  /** Ghost: allocation id of the table frame when the entry was filled. */
  ghost: number;
}

/** One device bound to one mm (one PASID). */
export interface SvaDevice {
  name: string;
  mm: MmId;
  atc: AtcEntry[];
  /** The IOMMU's paging-structure cache for the PASID. */
  psc: IommuPscEntry[];
  /** intel_mm_release() tore the PASID entry down (exit_mmap()): the device's DMA no longer translates. */
  released: boolean;
}

export interface SvaState {
  devices: Record<string, SvaDevice>;
}

/** The subscription name of a device's SVA domain on its mm's notifier list. */
export const svaSubscription = (dev: string) => `sva:${dev}`;
