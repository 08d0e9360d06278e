// V8 settings of the gupstress process, set before any of the model's code is compiled (the
// CLI imports this module first; worker threads share the process's V8 flags).
//
// TurboFan inlines a function's callees until their bytecode adds up to a cumulative budget
// (920 bytes by default). The GUP-fast walk is a chain of range functions whose every step
// calls a small helper (an arch predicate, a Mem access, a trace event, a window point, an
// oracle check): at 920 bytes most of them stay real calls. 3000 lets them inline. Measured
// with `gupstress bench` (README, "bench"); a larger budget gained nothing more.
import { setFlagsFromString } from 'node:v8';

export const INLINE_BUDGET = 3000;

setFlagsFromString(`--max-inlined-bytecode-size-cumulative=${INLINE_BUDGET}`);
