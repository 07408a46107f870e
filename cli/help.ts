// --help texts: the tool's and each command's. README's command list is
// checked against these (test/readme.test.ts).

export const COMMAND_HELP: Record<string, string> = {
  policies: `mshare-check policies
  One policy a line: name, date, description.`,
  fuzz: `mshare-check fuzz --policy P [--variant F] [--seed S] [--runs N | --time T] [--ops LIST] [--property ID]... [--out DIR]
                  [--skip-known] [--skip SIG]... [--jobs N] [--shard K/N]
  Fuzz a policy to the end of its budget; shrink and save the first run of every new signature.
  --policy P      a name from \`mshare-check policies\`
  --variant F     a variant file (TypeScript, like those in variants/) applied to P
  --seed S        campaign seed (default "mshare-check")
  --runs N        run budget (default 1000); --time T a wall-clock budget (30s, 5m)
  --ops LIST      operation kinds to generate, comma-separated (default: the policy's kinds, and the
                  opt-in ones (reclaim, vm, fork, migrate, mremap, madv_free, sva, gmem, swap, memslot)
                  whose own paths the variant edits; madv_free brings reclaim, which alone reads what
                  MADV_FREE leaves)
  --property ID   check only this property (repeatable)
  --out DIR       where findings are saved (default: counterexamples/ in the current directory);
                  checked and created before the first run
  --skip-known    count, but do not shrink or save, the signatures saved in counterexamples/ and DIR
                  for P (without a variant, or with this variant)
  --skip SIG      the same for one signature (property|holder|function; repeatable)
  --jobs N        worker threads (default: the machine's cores); results are the same for any N
  --shard K/N     run slice K of N of the campaign's runs (needs --runs) and write a shard manifest
                  in DIR; \`mshare-check merge\` adds the slices up
  Ctrl-C stops: what is saved stays, the summary is printed, exit 130.`,
  replay: `mshare-check replay FILE [--policy P] [--variant F | --trust-variant] [--property ID]...
  Replay a saved counterexample (.json) or a scenario text file.
  --policy P       run under P instead of the file's policy (its embedded variant is then not run)
  --variant F      run with your local variant file F (if its sha256 matches the embedded one, that one)
  --trust-variant  run the TypeScript variant embedded in FILE (it is code: read it first)
  --property ID    check only this property (repeatable; default: those the file was checked against)
  Exit 1 if a violation reproduces, 0 if none; "verdict: CHANGED" when it differs from the saved one.`,
  report: `mshare-check report FILE [--format text|json|html] [--out F] [--variant F | --trust-variant]
  Replay a saved counterexample and print the report for a mailing-list reply.
  --format         text (default, 72 columns), json (every step and state), or html (one
                   self-contained page: swimlanes, a step cursor and the state at each step)
  --out F          write the report to file F instead of stdout (F is replaced)
  --variant F, --trust-variant   as for replay
  Exit status from this replay, as for replay.`,
  matrix: `mshare-check matrix [--runs N | --budget T] [--seed S] [--policy P]... [--out DIR] [--skip-known] [--jobs N]
  Every policy against every property, one property per cell; prints signatures and coverage.
  --runs N      runs per cell (default 200); --budget T a total time target (calibrated, not exact)
  --out DIR     save the shortest counterexample of each finding there (checked before the first run)
  --skip-known  count, but do not shrink or save, each policy's signatures saved in counterexamples/ and DIR
  --jobs N      worker threads (default: the machine's cores); results are the same for any N
  Exit 0 once computed, findings or not; 130 on Ctrl-C.`,
  explore: `mshare-check explore FILE [--policy P] [--variant F | --trust-variant] [--property ID]... [--bound B]
                  [--max-states N] [--time T] [--no-cache] [--no-cross-last] [--sleep-sets] [--out DIR]
  Every interleaving of a scenario's operations (a scenario text file, or a saved counterexample's
  operations; its schedule is not used), by increasing preemptions, then steps. Threads and hardware
  actors (IPI handlers, RCU, speculative walks, store buffers) are all scheduling choices.
  --bound B       most preemptions per schedule (default 3); a clean result covers every schedule within B
  --max-states N  stop after N distinct states (default 200000): "NOT COMPLETE", with the last bound finished
  --time T        stop after T of wall-clock time (30s, 10m) in the same way; stdout then depends on the machine
  --no-cache      no state caching: every schedule within the bound (slower; checks the cache)
  --no-cross-last the cache merges a state only with one reached after the same actor, not with one
                  reached at a preemption less after another (same answer; compares the counts)
  --sleep-sets    sleep sets (partial-order reduction) too: same answer; in docs/bench.md they spare
                  few states at this explorer's bounds, so they are off by default
  --property ID   check only this property (repeatable; default: the file's, else all)
  --out DIR       where the shortest counterexample is saved (default: counterexamples/)
  --policy P, --variant F, --trust-variant   as for replay (a text file runs under linux by default)
  Exit 1 with the shortest counterexample saved, 0 with "no violation within bound B"; the time is on stderr.`,
  merge: `mshare-check merge DIR... --out DIR
  Add up the shards of one campaign (fuzz --shard K/N, each with its own --out): the findings of
  the lowest run index are saved in --out and the summary printed, as the campaign on one machine
  would. Refuses (exit 2) a missing, repeated, interrupted or different shard.`,
  check: `mshare-check check [FILE] [--check NAME]... [--out DIR] [--jobs N]
  Run every check of a checks file (default checks.json): each fuzzes its policy and variant
  within its runs and seed, and compares the signatures with the verdict the file expects per
  property ("holds", a list of known signatures, or { "shows": [...] } that must show).
  --check NAME  run only this check (repeatable)
  --out DIR     where new findings are saved (default: check-out/ in the current directory)
  --jobs N      worker threads (default: the machine's cores); results are the same for any N
  Exit 0 when every check passes; 1 when a check shows a new signature or a required one is
  missing (each new one saved, with its report command); 2 bad file; 3 model error; 130 Ctrl-C.`,
};

export const USAGE = `usage: mshare-check <command> [options]   (mshare-check <command> --help for one command)
  policies
  fuzz --policy P [--variant F] [--seed S] [--runs N | --time T] [--ops LIST] [--property ID]... [--out DIR]
       [--skip-known] [--skip SIG]... [--jobs N] [--shard K/N]
  replay FILE [--policy P] [--variant F | --trust-variant] [--property ID]...
  report FILE [--format text|json|html] [--out F] [--variant F | --trust-variant]
  matrix [--runs N | --budget T] [--seed S] [--policy P]... [--out DIR] [--skip-known] [--jobs N]
  merge DIR... --out DIR
  explore FILE [--policy P] [--variant F | --trust-variant] [--property ID]... [--bound B] [--max-states N]
          [--time T] [--no-cache] [--no-cross-last] [--sleep-sets] [--out DIR]
  check [FILE] [--check NAME]... [--out DIR] [--jobs N]
  --help, -h     this text; --version
Exit status: 0 no violation, 1 a violation found or reproduced, 2 bad usage or input, 3 model or internal error,\n130 interrupted (Ctrl-C).`;
