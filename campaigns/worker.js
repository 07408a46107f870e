// Worker thread entry (campaigns/pool.ts): runs the TypeScript the way
// cli/bin.js does, tsx compiling on load, then serves chunks and shrinks.
import { register } from 'tsx/esm/api';

register();
await import('./worker_main.ts');
