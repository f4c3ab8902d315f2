import { defineConfig } from "vitest/config";

// chDB binds one data directory per process, so every test file runs in its own forked process.
export default defineConfig({
  test: {
    pool: "forks",
    include: ["test/**/*.test.ts"],
    // Generous: CI runs two test files at once on two cores, and many tests start CLI processes that
    // each load chDB; a test that hangs still fails, only later.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // verbose lists every test by name, so a visibly skipped test shows its reason in CI logs.
    reporters: ["verbose"],
  },
});
