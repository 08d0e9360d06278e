/**
 * Parser for the Linux kernel's C litmus tests (the LKMM dialect that herd7 reads):
 *
 *   C NAME
 *   (* header comment, holding "Result: Never" *)
 *   { init block }
 *   P0(int *x, ...) { C body }
 *   ...
 *   locations [x; 0:r1]   filter (...)   exists (...)
 *
 * A small on-demand tokenizer feeds a recursive-descent parser.  Every failure is a
 * LitmusParseError whose message reads `FILE:LINE: what is not understood`.
 */

export type Value = { k: 'int'; v: number } | { k: 'ptr'; to: string };

export interface LitmusTest {
  name: string;
  result: string | null;
  resultExtra: string[];
  init: { loc: string; value: Value; type: string | null }[];
  regInit: { proc: number; reg: string; value: Value }[];
  procs: Proc[];
  cond: { kind: 'exists' | '~exists' | 'forall'; e: Cond } | null;
  filter: Cond | null;
  locations: string[];
}

export interface Proc { id: number; params: { name: string; type: string }[]; body: Stmt[] }

export type Stmt =
  | { k: 'decl'; type: string; name: string; init: Expr | null; line: number }
  /** `voidCast` is set for `(void)expr;`, the only cast herd7 accepts. */
  | { k: 'expr'; e: Expr; line: number; voidCast?: true }
  | { k: 'if'; cond: Expr; then: Stmt[]; else: Stmt[]; line: number };

export type BinOp = '==' | '!=' | '+' | '-' | '&&' | '||' | '&' | '|' | '^' | '<' | '>' | '<=' | '>=';

export type Expr =
  | { k: 'num'; v: number }
  | { k: 'name'; name: string }
  | { k: 'deref'; e: Expr }
  | { k: 'addr'; e: Expr }
  | { k: 'call'; fn: string; args: Expr[] }
  | { k: 'assign'; to: Expr; e: Expr }
  | { k: 'bin'; op: BinOp; a: Expr; b: Expr }
  | { k: 'not'; e: Expr };

export type Cond =
  | { k: 'eq'; lhs: CondLoc; rhs: Value | { k: 'loc'; loc: CondLoc } }
  | { k: 'ne'; lhs: CondLoc; rhs: Value | { k: 'loc'; loc: CondLoc } }
  | { k: 'and' | 'or'; a: Cond; b: Cond }
  | { k: 'not'; a: Cond }
  | { k: 'true' }
  | { k: 'false' };

export type CondLoc = { proc: number; reg: string } | { loc: string };

export class LitmusParseError extends Error {
  readonly file: string;
  readonly line: number;
  constructor(file: string, line: number, what: string) {
    super(`${file}:${line}: ${what}`);
    this.name = 'LitmusParseError';
    this.file = file;
    this.line = line;
  }
}

export function parseLitmus(text: string, file: string): LitmusTest {
  return new Parser(new Lexer(text, file)).parse();
}

// ---------------------------------------------------------------- tokenizer

interface Tok { kind: 'id' | 'num' | 'op' | 'eof'; text: string; line: number; start: number }

/** Multi-character operators first, so that the longest match wins. */
const OPS = ['/\\', '\\/', '==', '!=', '<=', '>=', '&&', '||', '++', '--', '+=', '-=', '->',
  ...'{}()[];,=*&+-^|<>!~:'];

class Lexer {
  private pos = 0;
  private line = 1;
  private buf: Tok[] = [];
  /** Inside a process body `(*x)` is a parenthesised dereference; elsewhere `(*` opens a comment. */
  private cCode = false;
  /** Comments seen so far (the header's hold the "Result:" line). */
  readonly comments: { text: string; start: number }[] = [];

  constructor(private readonly src: string, private readonly file: string) {}

  fail(line: number, what: string): never {
    throw new LitmusParseError(this.file, line, what);
  }

  /** Reads the first non-blank line raw (the name in `C NAME` may hold `+`, `.`, `-`). */
  headerLine(): { text: string; line: number } {
    for (;;) {
      let end = this.src.indexOf('\n', this.pos);
      if (end < 0) end = this.src.length;
      const text = this.src.slice(this.pos, end);
      const line = this.line;
      this.pos = Math.min(end + 1, this.src.length);
      this.line++;
      if (text.trim() !== '' || end >= this.src.length) return { text, line };
    }
  }

  /** Switches comment rules; tokens already looked ahead are re-lexed under the new rules. */
  setCCode(on: boolean): void {
    const first = this.buf[0];
    if (first) {
      this.pos = first.start;
      this.line = first.line;
      this.buf = [];
      while (this.comments.length && this.comments[this.comments.length - 1]!.start >= this.pos) this.comments.pop();
    }
    this.cCode = on;
  }

  peek(k = 0): Tok {
    while (this.buf.length <= k) this.buf.push(this.lex());
    return this.buf[k]!;
  }

  next(): Tok {
    const t = this.peek();
    this.buf.shift();
    return t;
  }

  private lex(): Tok {
    const s = this.src;
    for (;;) {
      const c = s[this.pos];
      if (c === '\n') { this.line++; this.pos++; }
      else if (c === ' ' || c === '\t' || c === '\r' || c === '\f') this.pos++;
      else if (s.startsWith('//', this.pos)) { const e = s.indexOf('\n', this.pos); this.pos = e < 0 ? s.length : e; }
      else if (s.startsWith('/*', this.pos)) this.comment('*/');
      else if (!this.cCode && s.startsWith('(*', this.pos)) this.comment('*)');
      else break;
    }
    const start = this.pos, line = this.line;
    if (start >= s.length) return { kind: 'eof', text: 'end of file', line, start };
    for (const [kind, re] of [['id', /[A-Za-z_][A-Za-z0-9_]*/y], ['num', /0[xX][0-9a-fA-F]+|[0-9]+/y]] as const) {
      re.lastIndex = start;
      const m = re.exec(s);
      if (m) { this.pos += m[0].length; return { kind, text: m[0], line, start }; }
    }
    const op = OPS.find((o) => s.startsWith(o, start));
    if (!op) this.fail(line, `unexpected character '${s[start]}'`);
    this.pos += op.length;
    return { kind: 'op', text: op, line, start };
  }

  private comment(close: string): void {
    const end = this.src.indexOf(close, this.pos + 2);
    if (end < 0) this.fail(this.line, `unterminated comment (missing '${close}')`);
    const body = this.src.slice(this.pos, end + 2);
    this.comments.push({ text: body.slice(2, -2), start: this.pos });
    this.line += body.split('\n').length - 1;
    this.pos = end + 2;
  }
}

// ---------------------------------------------------------------- parser

/** Binary operators by precedence, loosest first (C's order). */
const LEVELS: BinOp[][] = [['||'], ['&&'], ['|'], ['^'], ['&'], ['==', '!='], ['<', '>', '<=', '>='], ['+', '-']];
const TYPE_WORDS = new Set(['int', 'long', 'short', 'char', 'unsigned', 'signed', 'void', 'bool', '_Bool',
  'volatile', 'const', 'struct']);
const STMT_WORDS = new Set(['while', 'for', 'do', 'switch', 'case', 'default', 'return', 'goto', 'break',
  'continue', 'else', 'sizeof']);
const isTypeName = (w: string) => TYPE_WORDS.has(w) || /_t$/.test(w) || /^[us](8|16|32|64)$/.test(w);
const fmtType = (base: string[], stars: number) => base.join(' ') + (stars ? ' ' + '*'.repeat(stars) : '');
const describe = (t: Tok) => (t.kind === 'eof' ? t.text : `'${t.text}'`);

class Parser {
  constructor(private readonly lx: Lexer) {}

  private peek(k = 0): Tok { return this.lx.peek(k); }
  private next(): Tok { return this.lx.next(); }
  private at(text: string, k = 0): boolean { const t = this.peek(k); return t.kind !== 'eof' && t.text === text; }
  private eat(text: string): boolean { if (!this.at(text)) return false; this.next(); return true; }
  private fail(t: Tok, what: string): never { return this.lx.fail(t.line, what); }
  private expect(text: string, where: string): Tok {
    const t = this.peek();
    if (!this.at(text)) this.fail(t, `expected '${text}' ${where}, found ${describe(t)}`);
    return this.next();
  }
  private ident(what: string): string {
    const t = this.peek();
    if (t.kind !== 'id') this.fail(t, `expected ${what}, found ${describe(t)}`);
    return this.next().text;
  }

  parse(): LitmusTest {
    const head = this.lx.headerLine();
    const m = /^\s*C\s+(\S+)\s*$/.exec(head.text);
    if (!m) this.lx.fail(head.line, `expected 'C NAME' as the first line, found '${head.text.trim()}'`);
    this.peek(); // lexes the header comments up to the init block
    let result: string | null = null, resultExtra: string[] = [];
    for (const c of this.lx.comments) {
      const r = /Result:[ \t]*([^\n]*)/.exec(c.text);
      if (!r) continue;
      [result = null, ...resultExtra] = r[1]!.trim().split(/\s+/).filter(Boolean);
      break;
    }
    const t: LitmusTest = { name: m[1]!, result, resultExtra, init: [], regInit: [], procs: [], cond: null, filter: null, locations: [] };

    this.expect('{', 'opening the init block');
    while (!this.eat('}')) {
      this.initItem(t);
      if (!this.eat(';') && !this.at('}')) this.fail(this.peek(), `expected ';' in the init block, found ${describe(this.peek())}`);
    }

    while (this.peek().kind === 'id' && /^P\d+$/.test(this.peek().text)) t.procs.push(this.proc(t.procs.length));

    for (;;) {
      const k = this.peek();
      if (k.kind === 'eof') break;
      if (t.cond) this.fail(k, `unexpected ${describe(k)} after the final condition`);
      if (this.eat('locations')) {
        this.expect('[', "after 'locations'");
        while (!this.eat(']')) {
          const loc = this.condLoc();
          t.locations.push('proc' in loc ? `${loc.proc}:${loc.reg}` : loc.loc);
          if (!this.eat(';') && !this.at(']')) this.fail(this.peek(), `expected ';' or ']' in locations, found ${describe(this.peek())}`);
        }
      } else if (this.eat('filter')) {
        if (t.filter) this.fail(k, "duplicate 'filter'");
        t.filter = this.cond();
      } else if (this.eat('exists')) t.cond = { kind: 'exists', e: this.cond() };
      else if (this.eat('forall')) t.cond = { kind: 'forall', e: this.cond() };
      else if (this.at('~') && this.at('exists', 1)) { this.next(); this.next(); t.cond = { kind: '~exists', e: this.cond() }; }
      else this.fail(k, `unexpected ${describe(k)} (expected P${t.procs.length}, locations, filter, exists, ~exists or forall)`);
    }
    return t;
  }

  /** `[type] name [= value]` or `N:reg = value`. */
  private initItem(t: LitmusTest): void {
    if (this.peek().kind === 'num') {
      const loc = this.condLoc() as { proc: number; reg: string };
      this.expect('=', 'in a register initialisation');
      t.regInit.push({ ...loc, value: this.value() });
      return;
    }
    const d = this.typedName('a location name in the init block');
    const value: Value = this.eat('=') ? this.value() : { k: 'int', v: 0 };
    t.init.push({ loc: d.name, value, type: d.base.length ? fmtType(d.base, d.stars) : null });
  }

  /** `int **p` → base ['int'], stars 2, name 'p'; a lone identifier has an empty base. */
  private typedName(what: string): { base: string[]; stars: number; name: string } {
    const ids = [this.ident(what)];
    while (this.peek().kind === 'id') ids.push(this.next().text);
    let stars = 0;
    while (this.eat('*')) stars++;
    const name = stars ? this.ident(what) : ids.pop()!;
    return { base: ids, stars, name };
  }

  /**
   * An initial value or condition constant: `5`, `-1`, `&x`, `ATOMIC_INIT(1)`, or a bare
   * identifier `x`, which herd7 reads as the address of location x.
   */
  private value(): Value {
    const t = this.peek();
    if (this.eat('-')) {
      const n = this.peek();
      if (n.kind !== 'num') this.fail(n, `expected a number after '-', found ${describe(n)}`);
      return { k: 'int', v: -Number(this.next().text) };
    }
    if (t.kind === 'num') return { k: 'int', v: Number(this.next().text) };
    if (this.eat('&')) return { k: 'ptr', to: this.ident("a location name after '&'") };
    if (t.kind === 'id') {
      this.next();
      if (t.text !== 'ATOMIC_INIT') return { k: 'ptr', to: t.text };
      this.expect('(', "after 'ATOMIC_INIT'");
      const v = this.value();
      this.expect(')', 'closing ATOMIC_INIT(');
      return v;
    }
    return this.fail(t, `expected a value, found ${describe(t)}`);
  }

  private proc(expected: number): Proc {
    const name = this.next();
    const id = Number(name.text.slice(1));
    if (id !== expected) this.fail(name, `expected process P${expected}, found ${name.text}`);
    this.expect('(', `after ${name.text}`);
    const params: Proc['params'] = [];
    if (!this.eat(')')) {
      do {
        const d = this.typedName(`a parameter of ${name.text}`);
        if (!d.base.length) this.fail(this.peek(), `parameter '${d.name}' of ${name.text} has no type`);
        params.push({ name: d.name, type: fmtType(d.base, d.stars) });
      } while (this.eat(','));
      this.expect(')', `closing the parameters of ${name.text}`);
    }
    this.expect('{', `opening the body of ${name.text}`);
    this.lx.setCCode(true);
    const body = this.block();
    this.lx.setCCode(false);
    return { id, params, body };
  }

  /** Statements up to and including the closing `}` (the `{` is already consumed). */
  private block(): Stmt[] {
    const out: Stmt[] = [];
    while (!this.eat('}')) {
      if (this.peek().kind === 'eof') this.fail(this.peek(), "unterminated block (missing '}')");
      this.stmt(out);
    }
    return out;
  }

  private stmt(out: Stmt[]): void {
    const t = this.peek(), line = t.line;
    if (this.eat(';')) return; // empty statement
    if (t.text === '{') this.fail(t, "a bare '{' block is not supported (only as an if/else branch)");
    if (t.kind === 'id' && STMT_WORDS.has(t.text)) this.fail(t, `'${t.text}' statement is not supported`);
    if (this.eat('if')) {
      this.expect('(', "after 'if'");
      const cond = this.expr();
      this.expect(')', "closing the 'if' condition");
      const then = this.branch();
      out.push({ k: 'if', cond, then, else: this.eat('else') ? this.branch() : [], line });
    } else if (t.kind === 'id' && isTypeName(t.text) && (this.peek(1).kind === 'id' || this.at('*', 1))) {
      const d = this.typedName('a declared name');
      let { stars, name } = d;
      for (;;) {
        out.push({ k: 'decl', type: fmtType(d.base, stars), name, init: this.eat('=') ? this.expr() : null, line });
        if (!this.eat(',')) break;
        for (stars = 0; this.eat('*'); ) stars++;
        name = this.ident('a declared name');
      }
      this.expect(';', 'after a declaration');
    } else if (this.at('(') && this.at('void', 1) && this.at(')', 2)) {
      this.next(); this.next(); this.next();
      out.push({ k: 'expr', e: this.expr(), line, voidCast: true });
      this.expect(';', 'after a statement');
    } else {
      out.push({ k: 'expr', e: this.expr(), line });
      this.expect(';', 'after a statement');
    }
  }

  /** An if/else branch: a braced block or a single statement. */
  private branch(): Stmt[] {
    if (this.eat('{')) return this.block();
    const out: Stmt[] = [];
    this.stmt(out);
    return out;
  }

  private expr(): Expr {
    const lhs = this.binary(0);
    if (!this.at('=')) return lhs;
    const eq = this.next();
    if (lhs.k !== 'name' && lhs.k !== 'deref') this.fail(eq, "left side of '=' must be a name or a dereference");
    return { k: 'assign', to: lhs, e: this.expr() };
  }

  private binary(level: number): Expr {
    const ops = LEVELS[level];
    if (!ops) return this.unary();
    let a = this.binary(level + 1);
    for (let t = this.peek(); t.kind === 'op' && (ops as string[]).includes(t.text); t = this.peek()) {
      this.next();
      a = { k: 'bin', op: t.text as BinOp, a, b: this.binary(level + 1) };
    }
    return a;
  }

  private unary(): Expr {
    if (this.eat('*')) return { k: 'deref', e: this.unary() };
    if (this.eat('&')) return { k: 'addr', e: this.unary() };
    if (this.eat('!')) return { k: 'not', e: this.unary() };
    if (this.eat('-')) {
      const e = this.unary();
      return e.k === 'num' ? { k: 'num', v: -e.v } : { k: 'bin', op: '-', a: { k: 'num', v: 0 }, b: e };
    }
    return this.primary();
  }

  private primary(): Expr {
    const t = this.next();
    if (t.kind === 'num') return { k: 'num', v: Number(t.text) };
    if (t.kind === 'id') {
      if (TYPE_WORDS.has(t.text)) this.fail(t, `unexpected type '${t.text}' in an expression (only '(void)' casts are supported)`);
      if (STMT_WORDS.has(t.text) || t.text === 'if') this.fail(t, `unexpected '${t.text}' in an expression`);
      if (!this.eat('(')) return { k: 'name', name: t.text };
      const args: Expr[] = [];
      if (!this.eat(')')) {
        do args.push(this.expr()); while (this.eat(','));
        this.expect(')', `closing the arguments of ${t.text}(`);
      }
      return { k: 'call', fn: t.text, args };
    }
    if (t.text === '(' && t.kind === 'op') {
      const e = this.expr();
      this.expect(')', "closing '('");
      return e;
    }
    return this.fail(t, `expected an expression, found ${describe(t)}`);
  }

  // ------------------------------------------------------------ conditions

  /** Disjunction of conjunctions: `/\` binds tighter than `\/`. */
  private cond(): Cond {
    let a = this.conj();
    while (this.eat('\\/')) a = { k: 'or', a, b: this.conj() };
    return a;
  }

  private conj(): Cond {
    let a = this.condAtom();
    while (this.eat('/\\')) a = { k: 'and', a, b: this.condAtom() };
    return a;
  }

  private condAtom(): Cond {
    if (this.eat('~')) return { k: 'not', a: this.condAtom() };
    if (this.eat('(')) {
      const e = this.cond();
      this.expect(')', "closing '(' in the condition");
      return e;
    }
    if (this.eat('true')) return { k: 'true' };
    if (this.eat('false')) return { k: 'false' };
    const lhs = this.condLoc();
    const op = this.peek();
    const k = op.text === '=' || op.text === '==' ? 'eq' : op.text === '!=' ? 'ne' : null;
    if (!k) this.fail(op, `expected '=' or '!=' in the condition, found ${describe(op)}`);
    this.next();
    if (this.peek().kind === 'num' && this.at(':', 1)) return { k, lhs, rhs: { k: 'loc', loc: this.condLoc() } };
    return { k, lhs, rhs: this.value() };
  }

  /** `1:r0` (a register of process 1) or `x` (a shared location). */
  private condLoc(): CondLoc {
    const t = this.next();
    if (t.kind === 'id') return { loc: t.text };
    if (t.kind !== 'num') this.fail(t, `expected a location or 'N:register', found ${describe(t)}`);
    this.expect(':', `after process number ${t.text}`);
    return { proc: Number(t.text), reg: this.ident('a register name') };
  }
}
