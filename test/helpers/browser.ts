// Real Chromium for the dashboard's tests: Debian's package (scripts/setup.sh), driven by
// playwright-core, which downloads no browser. A missing browser is reported so the suite can skip
// visibly with the reason in its name.
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";

export const CHROMIUM = process.env.FLOWPULSE_CHROMIUM ?? "/usr/bin/chromium";
export const HAVE_CHROMIUM = existsSync(CHROMIUM);
/** Test artifacts (screenshots), ignored by git. */
export const ARTIFACTS = path.resolve("test-results");

export async function launchBrowser(): Promise<Browser> {
  // --no-sandbox: CI containers run as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-dev-shm-usage"] });
}

/** Saves a full-page screenshot under test-results/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Waits until the page has finished a load after `before` loads (body data-loads counts them). */
export async function waitForLoad(page: Page, before: number, timeoutMs = 15_000): Promise<void> {
  await page.waitForFunction((n) => Number(document.body.dataset.loads ?? 0) > n && document.querySelector("#view")?.getAttribute("aria-busy") === "false", before, { timeout: timeoutMs });
}

export async function loadCount(page: Page): Promise<number> {
  return page.evaluate(() => Number(document.body.dataset.loads ?? 0));
}
