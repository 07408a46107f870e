// The package's API (package.json "exports" -> this file): what a test
// suite outside this tree needs to write a patch's check as a vitest
// property test. The package ships TypeScript source, not compiled
// JavaScript, as the CLI does (cli/bin.js runs it through tsx): an
// importer runs under vitest, tsx or any loader that strips types, and
// its type checker reads these declarations from the source itself.
//
//   the model:       policies, the variant API, the scenario and run types;
//   the arbitraries: fast-check generators of scenarios (what fuzz draws);
//   the runner:      one scenario against the properties, signatures, the
//                    fuzz campaign and the checks of a checks file.

// the model
export { POLICIES, policyByName } from './model/policies/registry.js';
export { linux } from './model/policies/linux.js';
export type { Policy } from './model/policies/policy.js';
export { applyVariant, defineVariant, VariantBuilder, VariantError, type VariantSpec } from './model/policies/variant.js';
export { loadVariant, type LoadedVariant } from './model/policies/load_variant.js';
export type { Scenario } from './model/run/scenario.js';
export { DEFAULT_CONFIG } from './model/kernel/config.js';
export { MODEL_VERSION } from './model/version.js';
export { PROPERTIES, propertyById } from './properties/registry.js';
export type { Property, Violation } from './properties/property.js';
export { parseScenario, printScenario } from './reports/scenario_text.js';

// the arbitraries
export { scenarioArb, rawScenarioArb, resolve as resolveRawScenario, opKindsFor, OP_KINDS, type GenOptions, type OpKind, type RawScenario } from './properties/generate/scenario_arb.js';

// the runner
export { runScenario, ScenarioError, type RunOptions, type RunResult } from './model/run/runner.js';
export { signatureOf } from './properties/signature.js';
export { fuzz, scenarioDrawer, type FuzzOptions, type FuzzResult, type Finding } from './campaigns/fuzz.js';
export { runCampaignSync, makeCtx, type CampaignResult, type CampaignSpec, type SignatureCount } from './campaigns/campaign.js';
export { parseCheckFile, CheckFileError, type Check, type Expectation } from './campaigns/check_file.js';
export { checkSpec, judge, knownOf, type CheckVerdict } from './campaigns/patch_check.js';
