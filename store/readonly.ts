// Read-only SQL on the embedded engine for people: analysts' tools through serve's ClickHouse HTTP
// endpoint (analysts/) and `flowpulse sql`. The engine does the refusing: each session is opened
// with readonly=1 and the limits as its own settings, which the engine will not let a query change
// (INSERT, ALTER, DROP, SYSTEM, SET, CREATE TEMPORARY and every table function that reaches the
// machine or the network: file, url, s3, remote, executable, mysql, ... answer READONLY).
//
// chDB is clickhouse-local, and three things a server refuses a local client allows, with no
// setting that turns them off (measured on chDB 3.4 / ClickHouse 26.7): the file() function reads
// any file the process can read, INTO OUTFILE writes one, and KILL QUERY stops serve's own
// statements (everything runs as the one local user). Those are refused from the engine's own
// parse of the statement (formatQuerySingleLine, EXPLAIN AST), never from our reading of the text.
import { Session } from "chdb";
import { StoreError, type EngineLimits } from "./store.ts";

export interface ReadOnlyRequest {
  sql: string;
  /** Output format when the statement has no FORMAT clause (ClickHouse's default_format). */
  format: string;
  /** Query parameters for `{name:Type}` placeholders, as text (ClickHouse's param_*). */
  params?: Readonly<Record<string, string>>;
  database?: string;
  /** Settings the client asked for; readonly=1 lets the engine accept only their current values. */
  settings?: Readonly<Record<string, string>>;
}

export interface ReadOnlyResult {
  bytes: Uint8Array;
  /** The format the answer is in: the statement's FORMAT clause, or the requested one. */
  format: string;
  rowsRead: number;
  bytesRead: number;
  elapsedMs: number;
}

/** An error with ClickHouse's code, for the endpoint's exception header. */
export class EngineError extends StoreError {
  override name = "EngineError";
  constructor(message: string, readonly code: number) {
    super(message);
  }
}

/** ClickHouse's READONLY code, which the engine gives for everything else it refuses here. */
const READONLY = 164;

/** Statements that only read, by the engine's name for the top of their syntax tree. */
const READING_STATEMENT = /^(SelectWithUnionQuery|SelectIntersectExceptQuery|SelectQuery|Show|Describe|Exists|Explain)/;

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Statements already inspected and found to be reads, with their FORMAT: dashboards send the same
 * text again and again, and the two parses cost a few ms each. What the parse decides depends on
 * the text alone (a bound parameter is a value or an identifier, never a clause or a function).
 */
const INSPECTED_MAX = 1000;
const inspected = new Map<string, { format: string | undefined }>();

/** A ClickHouse string literal: the engine unescapes it back to exactly `text`. */
export function stringLiteral(text: string): string {
  return `'${text.replace(/\\/g, "\\\\").replace(/'/g, "\\'").replace(/\0/g, "\\0")}'`;
}

function name(kind: string, text: string): string {
  if (!NAME.test(text)) throw new EngineError(`Code: 36. DB::Exception: ${kind} name ${JSON.stringify(text)} is not a plain name. (BAD_ARGUMENTS)`, 36);
  return text;
}

/** Turns chDB's error into an EngineError that keeps the engine's code and text. */
function engineError(error: unknown): EngineError {
  if (error instanceof EngineError) return error;
  const failure = error as { message?: string; clickhouseCode?: number };
  const message = String(failure.message ?? error);
  const code = failure.clickhouseCode ?? Number(/^Code: (\d+)\./.exec(message)?.[1] ?? 1002);
  return new EngineError(message, code);
}

/**
 * One engine connection that only reads. It runs one statement at a time (the caller queues);
 * the parameters and database of a request are reset by the next, so nothing carries over.
 */
export class ReadOnlySession {
  private readonly session: Session;
  private paramNames = new Set<string>();
  private database = "";

  constructor(dataPath: string, limits: EngineLimits = {}) {
    const args = Object.entries(limits)
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => `--${key}=${value}`);
    // readonly last, so nothing before it can be a way around it.
    args.push("--readonly=1");
    try {
      this.session = new Session(dataPath, { connectionArgs: args });
    } catch (error) {
      throw new StoreError(`cannot open a read-only session on ${dataPath}: ${(error as Error).message}`);
    }
  }

  async run(request: ReadOnlyRequest): Promise<ReadOnlyResult> {
    try {
      await this.prepare(request);
      const format = (await this.inspect(request.sql)) ?? request.format;
      const started = performance.now();
      const result = await this.session.queryAsync(request.sql, { format: request.format });
      return { bytes: result.bytes(), format, rowsRead: result.rowsRead, bytesRead: result.bytesRead, elapsedMs: performance.now() - started };
    } catch (error) {
      throw engineError(error);
    }
  }

  close(): void {
    this.session.close();
  }

  private async exec(sql: string): Promise<string> {
    return (await this.session.queryAsync(sql, { format: "TSVRaw" })).text();
  }

  /** Parameters (the last request's blanked), database and the client's settings. */
  private async prepare(request: ReadOnlyRequest): Promise<void> {
    const params = request.params ?? {};
    const names = new Set([...this.paramNames, ...Object.keys(params).map((key) => name("parameter", key))]);
    // SET param_* binds on this session's own connection; chDB's bound-query path instead takes a
    // process-wide turn that serve's metric queries also wait for.
    if (names.size > 0) await this.exec(`SET ${[...names].map((key) => `param_${key} = ${stringLiteral(params[key] ?? "")}`).join(", ")}`);
    this.paramNames = new Set(Object.keys(params));
    const database = request.database || "default";
    if (database !== this.database) {
      await this.exec(`USE ${name("database", database)}`);
      this.database = database;
    }
    const settings = Object.entries(request.settings ?? {});
    if (settings.length > 0) await this.exec(`SET ${settings.map(([key, value]) => `${name("setting", key)} = ${stringLiteral(value)}`).join(", ")}`);
  }

  /**
   * Refuses what readonly=1 lets through in a local engine, from the engine's parse: more than one
   * statement, a statement that is not a read (KILL), INTO OUTFILE, the file() function. Returns
   * the statement's FORMAT, if it names one.
   */
  private async inspect(sql: string): Promise<string | undefined> {
    const known = inspected.get(sql);
    if (known) return known.format;
    // The literal keeps the text inert: a second statement is a syntax error here, never run.
    const normalized = (await this.exec(`SELECT formatQuerySingleLine(${stringLiteral(sql)})`)).trimEnd();
    const tree = (await this.exec(`EXPLAIN AST ${sql}`)).split("\n");
    const refuse = (what: string) => {
      throw new EngineError(`Code: ${READONLY}. DB::Exception: ${what}. (READONLY)`, READONLY);
    };
    const top = tree[0] ?? "";
    if (!READING_STATEMENT.test(top)) refuse(`Cannot execute ${top.split(" ")[0]} in read-only SQL: only SELECT, SHOW, DESCRIBE, EXISTS and EXPLAIN are served`);
    if (tree.some((line) => /^\s*Function file\b/.test(line))) refuse("The file() function is refused in read-only SQL: it reads files of the machine the engine runs on");
    // INTO OUTFILE is a literal child of the statement itself (depth 1 in the dump).
    if (/ INTO OUTFILE '/.test(normalized) && tree.some((line) => line.startsWith(" Literal "))) refuse("INTO OUTFILE is refused in read-only SQL: it writes a file on the machine the engine runs on");
    const format = / FORMAT ([A-Za-z0-9_]+)$/.exec(normalized)?.[1];
    if (inspected.size >= INSPECTED_MAX) inspected.delete(inspected.keys().next().value as string);
    inspected.set(sql, { format });
    return format;
  }
}
