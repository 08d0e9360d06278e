// Node 20: tsx does not register its loader inside worker threads. When gupstress runs
// from its TypeScript sources (tests, `tsx harness/cli.ts`), workers start here.
import { register } from 'tsx/esm/api';

register();
await import('./cpu.ts');
