// What `flowpulse sync <source>` and `flowpulse remap <source>` do for every API connector (Jira,
// GitHub): Ctrl-C stops after the request in flight and the next sync resumes at the page after the
// last one stored; a progress line every few seconds; exit status 1 when this run refused
// something (docs/cli.md); config and HTTP problems are the user's to fix, in one line (exit 2).
// Each source says only how it syncs, remaps, words its lines, and which errors are the user's.
import type { Store } from "../../store/store.ts";
import type { Config } from "../config.ts";
import { withStore, type CommandContext } from "../context.ts";
import { UsageError } from "../errors.ts";

interface Run {
  store: Store;
  config: Config;
  log: (line: string) => void;
}

export interface ApiSource<Progress extends { rejected: number }> {
  /** As typed on the command line: `jira`, `github`. */
  name: string;
  sync(run: Run & { full?: boolean; signal: AbortSignal; onProgress: (progress: Progress) => void }): Promise<Progress>;
  remap(run: Run): Promise<{ items: number; transitions: number; rejected: number }>;
  progressLine(progress: Progress): string;
  rejectedLine(rejected: number): string;
  remappedLine(result: { items: number; transitions: number; rejected: number }): string;
  /** Config and HTTP errors: shown as one line, exit 2. */
  isUserError(error: unknown): error is Error;
}

export async function syncCommand<P extends { rejected: number }>(context: CommandContext, source: ApiSource<P>, options: { full?: boolean } = {}): Promise<number> {
  const controller = new AbortController();
  const stop = () => controller.abort(new UsageError(`stopped; run \`flowpulse sync ${source.name}\` again to resume`));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  let lastLine = 0;
  const onProgress = (progress: P) => {
    // A line every few seconds on long syncs: alive, how far, and how much the server slowed us.
    if (Date.now() - lastLine < 5_000) return;
    lastLine = Date.now();
    context.err(`${source.name}: ${source.progressLine(progress)}\n`);
  };
  try {
    const result = await withStore(
      context,
      (store) => source.sync({ store, config: context.config, full: options.full, signal: controller.signal, log: (line) => context.err(line + "\n"), onProgress }),
      "write",
    );
    if (result.rejected > 0) context.out(`${source.rejectedLine(result.rejected)}: flowpulse rejected --source ${source.name}\n`);
    return result.rejected > 0 ? 1 : 0;
  } catch (error) {
    throw source.isUserError(error) ? new UsageError(error.message) : error;
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
}

export async function remapCommand(context: CommandContext, source: ApiSource<{ rejected: number }>): Promise<number> {
  try {
    const result = await withStore(context, (store) => source.remap({ store, config: context.config, log: (line) => context.err(line + "\n") }));
    context.out(`${source.remappedLine(result)}\n`);
    return result.rejected > 0 ? 1 : 0;
  } catch (error) {
    throw source.isUserError(error) ? new UsageError(error.message) : error;
  }
}
