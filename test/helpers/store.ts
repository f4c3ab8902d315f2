// A fresh embedded store per test file (chDB binds one data directory per process).
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { openStore } from "../../store/open.ts";
import type { Store } from "../../store/store.ts";

export async function freshStore(): Promise<{ store: Store; dir: string; dispose(): Promise<void> }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "flowpulse-test-"));
  const store = await openStore({ kind: "embedded", path: dir });
  return {
    store,
    dir,
    async dispose() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
