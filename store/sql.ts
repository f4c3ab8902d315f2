// SQL lives in .sql files under sql/. This module finds, caches and splits them.
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const SQL_DIR = fileURLToPath(new URL("../sql/", import.meta.url));

const cache = new Map<string, string>();

/** The text of `sql/<relative>`, e.g. `queries/velocity.sql`. */
export function sqlFile(relative: string): string {
  let text = cache.get(relative);
  if (text === undefined) {
    text = readFileSync(path.join(SQL_DIR, relative), "utf8");
    cache.set(relative, text);
  }
  return text;
}

/** The .sql files of one folder, in name order (names start with a sequence number). */
export function sqlFolder(folder: string): { name: string; text: string }[] {
  return readdirSync(path.join(SQL_DIR, folder))
    .filter((name) => name.endsWith(".sql"))
    .sort()
    .map((name) => ({ name, text: sqlFile(`${folder}/${name}`) }));
}

/** Splits a file into statements at semicolons that end a line; comment-only pieces are dropped. */
export function splitStatements(text: string): string[] {
  return text
    .split(/;[ \t]*(?:\r?\n|$)/)
    .map((statement) => statement.trim())
    .filter((statement) => statement.replace(/--[^\n]*/g, "").trim() !== "");
}
