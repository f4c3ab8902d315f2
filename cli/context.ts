// What every command gets: the validated config (with --data applied) and a way to open the store.
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import type { StoreConfig } from "../core/config.ts";
import { registerSecretsFromEnv, redact } from "../core/secrets.ts";
import { connectStore } from "../store/open.ts";
import { StoreError, type Store } from "../store/store.ts";
import { loadConfig, type Config } from "./config.ts";

export interface GlobalOptions {
  config?: string;
  data?: string;
}

/**
 * What a command does with the store. Only commands that write may create an embedded store; one
 * that only reads refuses a directory without a store, so a mistyped --data is named, not
 * answered with an empty store's "(no rows)".
 */
export type StoreAccess = "read" | "write";

export interface CommandContext {
  config: Config;
  /**
   * Opens (and migrates) the configured store, or connects to the `flowpulse serve` that owns it;
   * the caller closes it.
   */
  openStore(access?: StoreAccess): Promise<Store>;
  out(text: string): void;
  err(text: string): void;
}

/** How the user named the data directory, for messages that tell them what to change. */
const dataOrigin = (global: GlobalOptions, env: NodeJS.ProcessEnv) =>
  global.data ? "--data" : env.FLOWPULSE_DATA ? "$FLOWPULSE_DATA" : "store.path";

/** The entry at `file`, or nothing when there is none, also when a parent on the way is a file (ENOTDIR). */
function statOrNothing(file: string) {
  try {
    return statSync(file, { throwIfNoEntry: false });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOTDIR") return undefined;
    throw error;
  }
}

/**
 * The embedded store's directory must be a directory or not exist yet (under a directory): the
 * store would otherwise fail deep inside with a raw EEXIST or ENOTDIR.
 */
function checkDataPath(dir: string, origin: string): void {
  let at = path.resolve(dir);
  for (;;) {
    const stat = statOrNothing(at);
    if (stat) {
      if (stat.isDirectory()) return;
      throw new StoreError(
        at === path.resolve(dir)
          ? `${origin} ${dir} is a file: name the directory that holds (or will hold) the embedded store`
          : `${origin} ${dir} is inside ${at}, which is a file: name a directory for the embedded store`,
      );
    }
    const parent = path.dirname(at);
    if (parent === at) return;
    at = parent;
  }
}

/**
 * True when `dir` holds a Flowpulse store: its migrations table (the first thing a store creates)
 * or the serve.json of a `flowpulse serve` that owns the directory.
 */
function holdsStore(dir: string): boolean {
  return existsSync(path.join(dir, "metadata", "default", "schema_migrations.sql")) || existsSync(path.join(dir, "serve.json"));
}

function openFor(store: StoreConfig, access: StoreAccess, env: NodeJS.ProcessEnv): Promise<Store> {
  if (access === "read" && store.kind === "embedded" && !holdsStore(store.path)) {
    return Promise.reject(new StoreError(`no Flowpulse store at ${store.path}: check --data, or import data first`));
  }
  return connectStore(store, env);
}

export function makeContext(global: GlobalOptions, env: NodeJS.ProcessEnv = process.env): CommandContext {
  registerSecretsFromEnv(env);
  const config = loadConfig(global.config, env);
  // --data always means the embedded store in that directory, whatever the config says.
  if (global.data) config.store = { kind: "embedded", path: global.data };
  if (config.store.kind === "embedded") checkDataPath(config.store.path, dataOrigin(global, env));
  return {
    config,
    openStore: (access = "read") => openFor(config.store, access, env),
    out: (text) => process.stdout.write(text),
    // Logs and errors of long-running commands (serve, stream, sync) may quote a server's answer.
    err: (text) => process.stderr.write(redact(text)),
  };
}

/** Runs `body` with an open store and always closes it. */
export async function withStore<T>(context: CommandContext, body: (store: Store) => Promise<T>, access: StoreAccess = "read"): Promise<T> {
  const store = await context.openStore(access);
  try {
    return await body(store);
  } finally {
    await store.close();
  }
}
