// Node 20: tsx does not register its loader inside worker threads. When gupstress runs
// from its TypeScript sources (tests, `tsx harness/cli.ts`), workers start here.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData?.controlled ? './controlled.ts' : './cpu.ts');
