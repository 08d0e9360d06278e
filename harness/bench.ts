export async function runBench(_o: { json: boolean; time?: unknown }, _log: unknown): Promise<number> {
  throw new Error('bench: not yet');
}
