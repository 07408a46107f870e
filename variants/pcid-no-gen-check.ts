// Mutant: choose_new_asid() reuses a PCID slot holding the mm's ctx_id
// without comparing its tlb_gen, so entries a finished flush skipped (the
// CPU was running another mm) come back to life.
import { defineVariant } from '../model/policies/variant.js';
import type { SwitchMmCtx } from '../model/kernel/paths/switch_mm.js';

export default defineVariant({
  name: 'pcid-no-gen-check',
  description: 'choose_new_asid reuses a matching PCID slot without the tlb_gen compare',
  edit: (v) =>
    v.replace('choose_new_asid', function* (k, c: SwitchMmCtx) {
      const cpu = k.s.cpus[k.cpu]!;
      const found = cpu.slots.findIndex((sl) => sl.ctxId === k.s.mms[c.next]!.ctxId);
      if (found >= 0) {
        c.asid = found;
        c.needFlush = false;
      } else {
        c.asid = cpu.nextAsid;
        cpu.nextAsid = (cpu.nextAsid + 1) % cpu.slots.length;
        c.needFlush = true;
      }
    }),
});
