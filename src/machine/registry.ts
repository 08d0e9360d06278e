// Things the model declares where they live (a race window in the file that opens it, a
// statistic in the file that counts it) and that CPUs index by a small integer. The module
// that owns a thing defines it once; ids are given when the registry is first read (at
// start-up, after every module is loaded), in name order, so the main thread and every
// worker agree on them whatever order their modules were evaluated in.
export interface Registered {
  readonly name: string;
  /** given at seal(): the index into per-CPU arrays; -1 before */
  id: number;
}

export class Registry<T extends Registered> {
  private readonly defined: T[] = [];
  private sealed: readonly T[] | null = null;

  constructor(readonly what: string) {}

  /** Declares one thing; a name is declared once, and nothing after the ids are given. */
  define(item: T): T {
    if (this.sealed !== null) throw new Error(`${this.what} '${item.name}' declared after start-up (ids already given)`);
    if (this.defined.some((x) => x.name === item.name)) throw new Error(`${this.what} '${item.name}' declared twice`);
    this.defined.push(item);
    return item;
  }

  /** Every declared thing, in id order (gives the ids on first use). */
  get all(): readonly T[] {
    if (this.sealed === null) {
      const sorted = [...this.defined].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      sorted.forEach((x, i) => (x.id = i));
      this.sealed = sorted;
    }
    return this.sealed;
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
