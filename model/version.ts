// Bumped whenever a change to the model can change a verdict or a trace;
// saved counterexamples record it, and a stale one is re-searched.
// 0.4.1: get_user_pages honours gup=refused through an msharefs VMA (no
// walk, no pin); no named policy uses that knob value.
export const MODEL_VERSION = '0.4.1';
