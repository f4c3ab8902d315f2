// Opens the configured store, brings its schema up to date and finishes derivations a stopped
// process left behind. Every command that touches data starts here.
import type { StoreConfig } from "../core/config.ts";
import { ChdbStore } from "./chdb.ts";
import { EXCLUSIVE_RECOVERY, recoverPendingBatches, SHARED_RECOVERY } from "./derive.ts";
import { migrate } from "./migrate.ts";
import { findServe, RemoteStore } from "./remote.ts";
import { ClickHouseServerStore } from "./server.ts";
import type { Store } from "./store.ts";

export async function openStore(config: StoreConfig, env: NodeJS.ProcessEnv = process.env): Promise<Store> {
  const store: Store =
    config.kind === "embedded"
      ? new ChdbStore(config.path)
      : new ClickHouseServerStore({
          url: config.url,
          username: config.username,
          database: config.database,
          password: env[config.password_env] ?? "",
          passwordEnv: config.password_env,
        });
  try {
    await migrate(store);
    // An embedded store is this process's alone: whatever is pending was left by a stopped
    // process. A server may have other writers at work, whose units are theirs to derive.
    await recoverPendingBatches(store, config.kind === "embedded" ? EXCLUSIVE_RECOVERY : SHARED_RECOVERY);
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}

/**
 * The store for a command that may run beside `flowpulse serve`: the serve process when one owns
 * the embedded data directory, the store itself otherwise.
 */
export async function connectStore(config: StoreConfig, env: NodeJS.ProcessEnv = process.env): Promise<Store> {
  if (config.kind === "embedded") {
    const serve = findServe(config.path);
    const remote = serve && (await RemoteStore.connect(serve, config.path));
    if (remote) return remote;
  }
  return openStore(config, env);
}
