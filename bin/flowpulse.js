#!/usr/bin/env node
// Runs the TypeScript CLI directly through tsx, so `npx flowpulse` works after `npm ci` with no build.
import { register } from "tsx/esm/api";

register();
const { main, exitWhenFinished } = await import("../cli/main.ts");
exitWhenFinished(await main(process.argv.slice(2)));
