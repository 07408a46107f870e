// The kernel sources a report may cite on its "Kernel rule" lines: the
// commits (12 hex digits, with their subject) and the functions (with the
// file or patch that defines them). citations.test.ts checks every
// property's rule against these tables: each rule cites at least one,
// and cites nothing that is not here, so that a typo in a hash or a
// function that does not exist cannot reach a mailing-list reply.
// Adding a citation means adding it here, with its subject or file.

/** Mainline commits, by their 12-digit abbreviation, with their subject line. */
export const KNOWN_COMMITS: Readonly<Record<string, string>> = {
  '2ff6ddf19c0e': 'x86/mm/tlb: Leave lazy TLB mode at page table free time',
  '99baac21e458': 'mm: fix MADV_[FREE|DONTNEED] TLB flush miss problem',
  '8ce720d5bd91': 'mm/hugetlb: fix excessive IPI broadcasts when unsharing PMD tables using mmu_gather',
  c2ff4764e03e: 'arm64: tlb: Flush walk cache when unsharing PMD tables',
};

/** Kernel functions (mainline unless the source says which patch series), with where they are defined. */
export const KNOWN_FUNCTIONS: Readonly<Record<string, string>> = {
  tlb_finish_mmu: 'mm/mmu_gather.c',
  tlb_remove_table: 'mm/mmu_gather.c',
  pte_free_tlb: 'include/asm-generic/tlb.h',
  change_pte_range: 'mm/mprotect.c',
  pte_needs_flush: 'arch/x86/include/asm/tlbflush.h',
  task_numa_work: 'kernel/sched/fair.c',
  might_sleep: 'include/linux/kernel.h',
  csd_lock_wait: 'kernel/smp.c',
  do_user_addr_fault: 'arch/x86/mm/fault.c',
  get_user_pages_fast: 'mm/gup.c',
  do_vmi_munmap: 'mm/vma.c',
  mprotect_fixup: 'mm/mprotect.c',
  do_mmap: 'mm/mmap.c',
  tlb_flush: 'arch/x86/include/asm/tlb.h',
  mmu_notifier_invalidate_range_start: 'include/linux/mmu_notifier.h',
  mmu_notifier_invalidate_range_end: 'include/linux/mmu_notifier.h',
  arch_invalidate_secondary_tlbs: 'include/linux/mmu_notifier.h (struct mmu_notifier_ops, since 6bbd42e2df8f)',
  kvm_mmu_invalidate_begin: 'virt/kvm/kvm_main.c',
  kvm_mmu_invalidate_end: 'virt/kvm/kvm_main.c',
  mmu_invalidate_retry_gfn: 'include/linux/kvm_host.h',
  find_shared_vma: 'mshare RFC v3 8/10 "mm/mshare: prepare for page table sharing support" (2024-09-03)',
  mshare_vm_op_unshare_page_range: 'mshare v3 (2025-08-20, lore 20250820010415.699353-1-anthony.yznaga@oracle.com)',
};

/** The citations a rule makes: 12-hex commit ids and `name()` function references. */
export function citationsIn(rule: string): { commits: string[]; functions: string[] } {
  return {
    commits: [...rule.matchAll(/\b[0-9a-f]{12}\b/g)].map((m) => m[0]),
    functions: [...rule.matchAll(/\b([a-z_][a-z0-9_]*)\(\)/g)].map((m) => m[1]!),
  };
}

/** The repository's documents a rule may point into, with the items each holds ("F1", "R2", "7"). */
export type DocItems = (doc: string) => string[] | null;

/**
 * What is wrong with a rule's citations: none at all, a commit or a
 * function not in the tables, a document of the repository that does not
 * exist, or an item that document does not hold. Empty when all is well.
 */
export function ruleProblems(rule: string, items: DocItems): string[] {
  const { commits, functions } = citationsIn(rule);
  const out: string[] = [];
  if (commits.length === 0 && functions.length === 0) out.push('cites no commit and no function');
  for (const c of commits) if (!(c in KNOWN_COMMITS)) out.push(`unknown commit ${c}`);
  for (const f of functions) if (!(f in KNOWN_FUNCTIONS)) out.push(`unknown function ${f}()`);
  for (const m of rule.matchAll(/\b(docs\/[A-Za-z0-9_./-]+\.md)((?:[ ,]+(?:[A-Z]?\d+))*)/g)) {
    const held = items(m[1]!);
    if (held === null) {
      out.push(`no document ${m[1]}`);
      continue;
    }
    for (const it of m[2]!.split(/[ ,]+/).filter(Boolean)) if (!held.includes(it)) out.push(`${m[1]} has no item ${it}`);
  }
  return out;
}

/** The items of a markdown document: "## F1." headings and "1." list items at the start of a line. */
export function markdownItems(text: string): string[] {
  return [...text.matchAll(/^(?:## ([A-Z]\d*)\.|(\d+)\. )/gm)].map((m) => m[1] ?? m[2]!);
}
