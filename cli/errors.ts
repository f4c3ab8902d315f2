// Errors a user can fix (bad option, bad config, unreachable store) print one line and exit 2;
// anything else is a bug and keeps its stack. Whatever is printed goes through redact() first: an
// error may quote a server's answer, and a server may echo the credentials it was sent.
import { ConfigError } from "../core/config.ts";
import { redact } from "../core/secrets.ts";
import { StoreError } from "../store/store.ts";
import { ImportError } from "../connectors/file/import.ts";
import { MetricError } from "../metrics/query.ts";
import { printable } from "./render.ts";

/** An unexpected error (sysexits' EX_SOFTWARE), told apart from 1, "some records were refused". */
export const EXIT_BUG = 70;

export class UsageError extends Error {
  override name = "UsageError";
}

export function isUserError(error: unknown): error is Error {
  return (
    error instanceof UsageError ||
    error instanceof ConfigError ||
    error instanceof StoreError ||
    error instanceof ImportError ||
    error instanceof MetricError
  );
}

/** What the CLI prints for an error that ended a command, and the exit status it ends with. */
export function errorReport(error: unknown): { text: string; status: number } {
  // A message may quote input (a file name, a CSV header): shown escaped, its own line breaks kept.
  if (isUserError(error)) return { text: redact(`flowpulse: ${error.message.split("\n").map(printable).join("\n")}\n`), status: 2 };
  return { text: redact(`flowpulse: unexpected error\n${(error as Error)?.stack ?? String(error)}\n`), status: EXIT_BUG };
}
