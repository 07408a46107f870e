// Bumped whenever a change to the model can change a verdict or a trace;
// saved counterexamples record it, and a stale one is re-searched.
export const MODEL_VERSION = '0.4.0';
