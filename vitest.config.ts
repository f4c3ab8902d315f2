import { defineConfig } from "vitest/config";

// chDB binds one data directory per process, so every test file runs in its own forked process.
export default defineConfig({
  test: {
    pool: "forks",
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // verbose lists every test by name, so a visibly skipped test shows its reason in CI logs.
    reporters: ["verbose"],
  },
});
