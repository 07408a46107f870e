// mshare-2026 with the unsafe reading of listJoin: a sharer joins the
// sharer list only after find_shared_vma() linked the shared table, so a
// host-side change whose list walk runs in between misses a sharer whose
// CPU may already cache the old PTE (test/scenarios/m2026-join-after-link.txt).
import { defineVariant } from '../model/policies/variant.js';

export default defineVariant({
  name: 'm2026-join-after-link',
  description: 'mshare-2026: a sharer joins the sharer list after linking the shared table, not at mshare_attach',
  policy: 'mshare-2026',
  edit: (v) => v.knobs({ listJoin: 'after-link' }),
});
