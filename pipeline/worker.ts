// Worker threads that run TypeScript modules, like the rest of the app (the import's parse worker,
// the stream's decode thread).
import { Worker, type WorkerOptions } from "node:worker_threads";

/**
 * A worker thread running the TypeScript module at `module`. Node 20 loads a worker's entry file
 * before any `--import` hook, and loader flags in `execArgv` do not reach worker threads, so the
 * thread starts from a tiny script that registers tsx and then imports the module.
 */
export function typeScriptWorker(module: URL, options: Omit<WorkerOptions, "eval"> = {}): Worker {
  // tsx's API entry, resolved here (an eval'd script has no module base to resolve from) so it is
  // found from any working directory; runners without import.meta.resolve leave the bare name.
  const tsx = typeof import.meta.resolve === "function" ? import.meta.resolve("tsx/esm/api") : "tsx/esm/api";
  const source = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(module.href)}); });`;
  return new Worker(source, { ...options, eval: true });
}
