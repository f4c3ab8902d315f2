// `flowpulse sql "SELECT …"`: one read-only statement from the command line, answered in any
// ClickHouse output format. Through `flowpulse serve` when it owns the store (on its engine, within
// its analysts.limits), on the store directly when not; a ClickHouse server runs it itself. The
// engine's readonly setting refuses anything but a read (store/readonly.ts).
import type { CommandContext } from "../context.ts";
import { withStore } from "../context.ts";
import { UsageError } from "../errors.ts";

export const SQL_USAGE = 'flowpulse sql "SELECT …" [--format F]   (F: any ClickHouse output format; default PrettyCompactMonoBlock on a terminal, TSVWithNames otherwise)';

export interface SqlOptions {
  format?: string;
  /** Whether stdout is a terminal (picks the default format). */
  tty?: boolean;
  /** Writes the answer's bytes (binary formats such as Parquet stay bytes). */
  write?(bytes: Uint8Array): void;
}

export async function sqlCommand(context: CommandContext, statements: string[], options: SqlOptions = {}): Promise<number> {
  if (statements.length !== 1 || statements[0]!.trim() === "") throw new UsageError(`give one statement, quoted: ${SQL_USAGE}`);
  const format = options.format ?? (options.tty ? "PrettyCompactMonoBlock" : "TSVWithNames");
  if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(format)) throw new UsageError(`--format must be a ClickHouse format name such as JSONEachRow, CSVWithNames or Parquet (got "${format}")`);
  const bytes = await withStore(context, (store) => {
    if (!store.readOnlyQuery) throw new UsageError("this store cannot run read-only SQL");
    return store.readOnlyQuery(statements[0]!, format, context.config.analysts.limits);
  });
  (options.write ?? ((answer) => context.out(Buffer.from(answer).toString("utf8"))))(bytes);
  return 0;
}
