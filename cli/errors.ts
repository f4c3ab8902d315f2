// Errors a user can fix (bad option, bad config, unreachable store) print one line and exit 2;
// anything else is a bug and keeps its stack.
import { ConfigError } from "../core/config.ts";
import { StoreError } from "../store/store.ts";
import { ImportError } from "../connectors/file/import.ts";
import { MetricError } from "../metrics/query.ts";

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
