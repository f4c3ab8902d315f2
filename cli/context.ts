// What every command gets: the validated config (with --data applied) and a way to open the store.
import { registerSecretsFromEnv, redact } from "../core/secrets.ts";
import { loadConfig, type Config } from "./config.ts";
import { connectStore } from "../store/open.ts";
import type { Store } from "../store/store.ts";

export interface GlobalOptions {
  config?: string;
  data?: string;
}

export interface CommandContext {
  config: Config;
  /**
   * Opens (and migrates) the configured store, or connects to the `flowpulse serve` that owns it;
   * the caller closes it.
   */
  openStore(): Promise<Store>;
  out(text: string): void;
  err(text: string): void;
}

export function makeContext(global: GlobalOptions, env: NodeJS.ProcessEnv = process.env): CommandContext {
  registerSecretsFromEnv(env);
  const config = loadConfig(global.config, env);
  // --data always means the embedded store in that directory, whatever the config says.
  if (global.data) config.store = { kind: "embedded", path: global.data };
  return {
    config,
    openStore: () => connectStore(config.store, env),
    out: (text) => process.stdout.write(text),
    // Logs and errors of long-running commands (serve, stream, sync) may quote a server's answer.
    err: (text) => process.stderr.write(redact(text)),
  };
}

/** Runs `body` with an open store and always closes it. */
export async function withStore<T>(context: CommandContext, body: (store: Store) => Promise<T>): Promise<T> {
  const store = await context.openStore();
  try {
    return await body(store);
  } finally {
    await store.close();
  }
}
