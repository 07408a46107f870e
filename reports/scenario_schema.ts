// The one schema of a scenario and of a counterexample file (issue 8):
// every key, type and range the model relies on, so a hostile or
// hand-edited file is refused with its line before anything runs. The
// scenario text parser builds the same shape; both then pass
// model/run/validate.ts for what depends on the configuration.

import { CONFIG_FLAGS, DEFAULT_CONFIG } from '../model/kernel/config.js';
import { SCENARIO_LIMITS } from '../model/run/validate.js';
import { NAME as TEXT_NAME } from './scenario_text.js';
import type { Schema } from './schema.js';

/** The names the scenario text accepts (reports/scenario_text.ts), so every file prints as text. */
const NAME: Schema = { t: 'str', max: 64, pattern: TEXT_NAME, what: 'a name (letters, digits, _ . @ : -)' };
const COUNT: Schema = { t: 'int', min: 1 };
/** A config switch (invlpgb, ptReclaim, tce): 0 or 1; resolveConfig() refuses anything else. */
const FLAG: Schema = { t: 'int', min: 0 };
const INDEX: Schema = { t: 'int', min: 0 };
/** Free text from a file is echoed to terminals: printable ASCII only, so it carries no escape sequences. */
const TEXT = (max: number): Schema => ({ t: 'str', max, pattern: /^[\x20-\x7e]*$/, what: 'printable ASCII text' });
const obj = (req: Record<string, Schema>, opt?: Record<string, Schema>) => ({ t: 'obj', req, opt }) as const;

const PROT: Schema = { t: 'obj', req: { r: { t: 'bool' }, w: { t: 'bool' } }, check: (o) => (o.w && !o.r ? 'x86 has no write-only pages (w without r)' : null) };
const FILE_ARGS = { file: { t: 'null-or', of: NAME }, pgoff: INDEX } as const;

const kind = (k: string) => ({ t: 'const', value: k }) as const;
const SETUP: Schema = {
  t: 'kind',
  kinds: {
    process: obj({ kind: kind('process'), name: NAME }),
    file: obj({ kind: kind('file'), name: NAME, pages: COUNT }, { hugetlb: { t: 'bool' } }),
    mmap: obj({ kind: kind('mmap'), proc: NAME, start: INDEX, pages: COUNT, prot: PROT, ...FILE_ARGS }),
    msharefs: obj({ kind: kind('msharefs'), name: NAME, owner: { t: 'null-or', of: NAME } }),
    mshare_map: obj({ kind: kind('mshare_map'), file: NAME, offset: INDEX, pages: COUNT, prot: PROT }),
    // KVM (model/kernel/kvm/state.ts): memslots gfn -> hva (pages) in the process's mm
    vm: obj({ kind: kind('vm'), name: NAME, proc: NAME, memslots: { t: 'arr', max: 64, of: obj({ gfn: INDEX, hva: INDEX, pages: COUNT }, { gmem: obj({ file: NAME, pgoff: INDEX }) }) } }),
    // guest_memfd (model/kernel/paths/kvm_gmem.ts): a file a memslot may name as its backing
    gmem: obj({ kind: kind('gmem'), name: NAME, pages: COUNT }),
    // IOMMU SVA (model/kernel/sva/state.ts): a device bound to the process's mm
    sva_bind: obj({ kind: kind('sva_bind'), dev: NAME, proc: NAME }),
    zero_page: obj({ kind: kind('zero_page') }),
    swap: obj({ kind: kind('swap') }),
  },
};

const at = (k: string) => obj({ kind: kind(k), va: INDEX });
const bare = (k: string) => obj({ kind: kind(k) });
const range = (k: string) => obj({ kind: kind(k), va: INDEX, pages: COUNT });
const OP: Schema = {
  t: 'kind',
  kinds: {
    read: at('read'),
    write: at('write'),
    gup: obj({ kind: kind('gup'), va: INDEX }, { dma: { t: 'bool' } }),
    get_user_pages: obj({ kind: kind('get_user_pages'), va: INDEX }, { dma: { t: 'bool' } }),
    reclaim: at('reclaim'),
    migrate: at('migrate'),
    fork: obj({ kind: kind('fork'), child: NAME }),
    mremap: obj({ kind: kind('mremap'), va: INDEX, to: INDEX, pages: COUNT }),
    mmap: obj({ kind: kind('mmap'), va: INDEX, pages: COUNT, prot: PROT, ...FILE_ARGS }),
    munmap: range('munmap'),
    madvise: range('madvise'),
    madv_free: range('madv_free'),
    mprotect: obj({ kind: kind('mprotect'), va: INDEX, pages: COUNT, prot: PROT }),
    idle: bare('idle'),
    flush_tlb_all: bare('flush_tlb_all'),
    numa_scan: bare('numa_scan'),
    exit: bare('exit'),
    attach: obj({ kind: kind('attach'), file: NAME, va: INDEX }),
    mshare_map: obj({ kind: kind('mshare_map'), file: NAME, offset: INDEX, pages: COUNT, prot: PROT }),
    mshare_unmap: obj({ kind: kind('mshare_unmap'), file: NAME, offset: INDEX, pages: COUNT }),
    // mshare 2026 (model/kernel/paths/mshare_2026.ts)
    mshare_create: obj({ kind: kind('mshare_create'), file: NAME }),
    ftruncate: obj({ kind: kind('ftruncate'), file: NAME, pages: COUNT }),
    mshare_attach: obj({ kind: kind('mshare_attach'), file: NAME, va: INDEX, offset: INDEX, pages: COUNT }),
    mshare_advise: obj({ kind: kind('mshare_advise'), file: NAME, offset: INDEX, pages: COUNT }),
    mshare_protect: obj({ kind: kind('mshare_protect'), file: NAME, offset: INDEX, pages: COUNT, prot: PROT }),
    close: obj({ kind: kind('close'), file: NAME }),
    guest_read: obj({ kind: kind('guest_read'), vm: NAME, gfn: INDEX }),
    guest_write: obj({ kind: kind('guest_write'), vm: NAME, gfn: INDEX }),
    kvm_create_vm: obj({ kind: kind('kvm_create_vm'), vm: NAME }),
    kvm_delete_memslot: obj({ kind: kind('kvm_delete_memslot'), vm: NAME, slot: INDEX }),
    gmem_punch_hole: obj({ kind: kind('gmem_punch_hole'), file: NAME, offset: INDEX, pages: COUNT }),
    dma_read: obj({ kind: kind('dma_read'), dev: NAME, va: INDEX }),
    dma_write: obj({ kind: kind('dma_write'), dev: NAME, va: INDEX }),
  },
};

export const SCENARIO_SCHEMA: Schema = obj(
  {
    setup: { t: 'arr', of: SETUP, max: SCENARIO_LIMITS.setupItems },
    threads: { t: 'arr', max: SCENARIO_LIMITS.threads, of: obj({ name: NAME, proc: NAME, cpu: INDEX, ops: { t: 'arr', of: OP, max: SCENARIO_LIMITS.opsPerThread } }) },
  },
  {
    config: obj({}, Object.fromEntries(Object.keys(DEFAULT_CONFIG).map((k) => [k, CONFIG_FLAGS.includes(k as keyof typeof DEFAULT_CONFIG) ? FLAG : COUNT]))),
    speculation: { t: 'arr', max: 64, of: obj({ cpu: INDEX, vas: { t: 'arr', of: INDEX, max: SCENARIO_LIMITS.speculativeWalks } }) },
    schedule: { t: 'arr', max: SCENARIO_LIMITS.scheduleEntries, of: obj({ actor: NAME }, { steps: COUNT, until: NAME }) },
    choices: { t: 'arr', max: SCENARIO_LIMITS.choices, of: obj({ actor: NAME, point: NAME, nth: INDEX }) },
    // kswapd (model/run/scenario.ts KswapdSpec): absent in scenarios without background reclaim
    kswapd: obj({ name: NAME, cpu: INDEX, reclaims: { t: 'arr', max: SCENARIO_LIMITS.opsPerThread, of: obj({ proc: NAME, va: INDEX }) } }),
  },
);

const NULLABLE_TEXT = { t: 'null-or', of: TEXT(4096) } as const;

export const counterexampleSchema = (format: string, version: number): Schema =>
  obj(
    {
      format: { t: 'const', value: format },
      version: { t: 'const', value: version },
      modelVersion: { t: 'str', max: 32, pattern: /^\d+\.\d+\.\d+$/, what: 'a version like 0.4.0' },
      policy: NAME,
      variant: {
        t: 'null-or',
        of: obj({ name: NAME, file: TEXT(256), sha256: { t: 'str', max: 64, pattern: /^[0-9a-f]{64}$/, what: '64 hex digits' }, source: { t: 'str', max: 256 * 1024 } }),
      },
      campaign: { t: 'null-or', of: obj({ seed: TEXT(256), runIndex: INDEX, runSeed: INDEX, ops: { t: 'arr', of: NAME, max: 64 } }) },
      signature: TEXT(512),
      verdict: obj({
        result: { t: 'enum', values: ['pass', 'violation', 'model-error'] },
        property: { t: 'null-or', of: NAME },
        holder: { t: 'null-or', of: TEXT(64) },
        actor: { t: 'null-or', of: NAME },
        step: { t: 'null-or', of: COUNT },
        stepId: { t: 'null-or', of: NAME },
        message: NULLABLE_TEXT,
      }),
      scenario: SCENARIO_SCHEMA,
      steps: { t: 'arr', max: 1_000_000, of: obj({ n: COUNT, actor: NAME, id: NAME }) },
    },
    { properties: { t: 'null-or', of: { t: 'arr', of: NAME, max: 64 } } },
  );
