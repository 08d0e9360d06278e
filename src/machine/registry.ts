// Things the model declares where they live (a race window in the file that opens it, a
// statistic in the file that counts it) and that CPUs index by a small integer. The module
// that owns a thing defines it once; ids are given once, at start-up, when every module is
// loaded (sealRegistries, called by the scenario registry after it has imported every
// scenario), in name order, so the main thread and every worker agree on them whatever order
// their modules were evaluated in. Reading a thing's id, or a registry's list, before that
// throws with the thing's name: an id of -1 stored in a trace ring or a counter array would
// only break a report later, far from its cause.
export interface Registered {
  readonly name: string;
  /** the index into per-CPU arrays; reading it before sealRegistries() throws */
  readonly id: number;
}

// the id lives under a symbol: JSON.stringify and spreads of a declaration leave it out
const ID = Symbol('registry id');
type Slot = { [ID]: number; readonly name: string };

const registries: Registry<Registered>[] = [];

export class Registry<T extends Registered> {
  private readonly defined: T[] = [];
  private sealed: readonly T[] | null = null;
  /** the prototype of every thing this registry declares: its `id` getter */
  private readonly proto: object;

  constructor(readonly what: string) {
    this.proto = Object.defineProperty({}, 'id', {
      get(this: Slot): number {
        const i = this[ID];
        if (i < 0) unsealed(what, this.name);
        return i;
      },
    });
    registries.push(this as unknown as Registry<Registered>);
  }

  /** Declares one thing (its fields but the id); a name is declared once, and nothing after
   *  the ids are given. */
  define(fields: Omit<T, 'id'>): T {
    if (this.sealed !== null) throw new Error(`${this.what} '${fields.name}' declared after start-up (ids already given)`);
    if (this.defined.some((x) => x.name === fields.name)) throw new Error(`${this.what} '${fields.name}' declared twice`);
    const item = Object.assign(Object.create(this.proto) as object, fields, { [ID]: -1 }) as unknown as T;
    this.defined.push(item);
    return item;
  }

  /** Gives the ids, in name order (once). */
  seal(): void {
    if (this.sealed !== null) return;
    const sorted = [...this.defined].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    sorted.forEach((x, i) => ((x as unknown as Slot)[ID] = i));
    this.sealed = sorted;
  }

  get isSealed(): boolean {
    return this.sealed !== null;
  }

  /** Every declared thing, in id order. */
  get all(): readonly T[] {
    if (this.sealed === null) unsealed(this.what, '(the list)');
    return this.sealed!;
  }

  get size(): number {
    return this.all.length;
  }

  byName(name: string): T | undefined {
    return this.all.find((x) => x.name === name);
  }

  /** The names in id order: the main thread hands them to each worker, which checks that
   *  its own registry agrees before it counts anything. */
  names(): string[] {
    return this.all.map((x) => x.name);
  }
}

function unsealed(what: string, name: string): never {
  throw new Error(`${what} ${name} used before the ids are given: a module read it while loading, before sealRegistries()`);
}

/** Gives every registry's ids: once every module that declares things is loaded. */
export function sealRegistries(): void {
  for (const r of registries) r.seal();
}
