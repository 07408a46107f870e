// mshare-2026 with the unsafe reading of listLeave: a sharer leaves the
// sharer list in the unlink hook, before its own gather's flush at
// tlb_finish_mmu(), so a host-side change meanwhile flushes it no more
// (test/scenarios/m2026-leave-before-flush.txt).
import { defineVariant } from '../model/policies/variant.js';

export default defineVariant({
  name: 'm2026-leave-at-unlink',
  description: 'mshare-2026: a sharer leaves the sharer list in the unlink hook, before its unlink flush',
  policy: 'mshare-2026',
  edit: (v) => v.knobs({ listLeave: 'at-unlink' }),
});
