// --help texts: the tool's and each command's. README's command list is
// checked against these (test/readme.test.ts).

export const COMMAND_HELP: Record<string, string> = {
  policies: `mshare-check policies
  One policy a line: name, date, description.`,
  fuzz: `mshare-check fuzz --policy P [--variant F] [--seed S] [--runs N | --time T] [--ops LIST] [--property ID]... [--out DIR]
  Fuzz a policy; shrink and save the first violation.
  --policy P      a name from \`mshare-check policies\`
  --variant F     a variant file (TypeScript, SPEC 4.4) applied to P
  --seed S        campaign seed (default "mshare-check")
  --runs N        run budget (default 1000); --time T a wall-clock budget (30s, 5m)
  --ops LIST      operation kinds to generate, comma-separated (default: all the policy supports)
  --property ID   check only this property (repeatable)
  --out DIR       where findings are saved (default: counterexamples/ in the current directory);
                  checked and created before the first run`,
  replay: `mshare-check replay FILE [--policy P] [--variant F | --trust-variant] [--property ID]...
  Replay a saved counterexample (.json) or a scenario text file.
  --policy P       run under P instead of the file's policy (its embedded variant is then not run)
  --variant F      run with your local variant file F (if its sha256 matches the embedded one, that one)
  --trust-variant  run the TypeScript variant embedded in FILE (it is code: read it first)
  --property ID    check only this property (repeatable; default: those the file was checked against)
  Exit 1 if a violation reproduces, 0 if none; "verdict: CHANGED" when it differs from the saved one.`,
  report: `mshare-check report FILE [--format text|json] [--variant F | --trust-variant]
  Replay a saved counterexample and print the report for a mailing-list reply.
  --format         text (default, 72 columns) or json
  --variant F, --trust-variant   as for replay
  Exit status from this replay, as for replay.`,
  matrix: `mshare-check matrix [--runs N | --budget T] [--seed S] [--policy P]... [--out DIR]
  Every policy against every property, one property per cell; prints signatures and coverage.
  --runs N      runs per cell (default 200); --budget T a total time target (calibrated, not exact)
  --out DIR     save the shortest counterexample of each finding there (checked before the first run)
  Exit 0 once computed, findings or not.`,
};

export const USAGE = `usage: mshare-check <command> [options]   (mshare-check <command> --help for one command)
  policies
  fuzz --policy P [--variant F] [--seed S] [--runs N | --time T] [--ops LIST] [--property ID]... [--out DIR]
  replay FILE [--policy P] [--variant F | --trust-variant] [--property ID]...
  report FILE [--format text|json] [--variant F | --trust-variant]
  matrix [--runs N | --budget T] [--seed S] [--policy P]... [--out DIR]
  --help, -h     this text; --version
Exit status: 0 no violation, 1 a violation found or reproduced, 2 bad usage or input, 3 model or internal error.`;
