// The report as JSON (SPEC 9: complete, versioned, replayable): every
// step with its effects, locks and the reference's verdict, the race
// diagram's entries, expected against actual, and the counterexample
// file itself, from which it replays.

import type { Report } from './report.js';

export const renderJson = (r: Report) => JSON.stringify(r, null, 2) + '\n';
