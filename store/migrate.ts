// Applies the schema: dated table migrations in sql/schema/ once each (recorded, never edited once
// applied), then every view in sql/views/ (CREATE OR REPLACE, so views follow the code).
import { splitStatements, sqlFile, sqlFolder } from "./sql.ts";
import type { Store } from "./store.ts";

/** The latest migration this code knows, e.g. "0005" (what a store it opens runs after migrate). */
export function schemaLevel(): string {
  return levelOf(sqlFolder("schema").map((migration) => migration.name));
}

/** The level of a list of applied migration names: the highest number, "0000" for none. */
export function levelOf(names: readonly string[]): string {
  let level = "0000";
  for (const name of names) {
    const match = /^(\d{4})_[^#]*$/.exec(name);
    if (match && (match[1] as string) > level) level = match[1] as string;
  }
  return level;
}

/** The level of the store's applied migrations (see schemaLevel). */
export async function appliedLevel(store: Store): Promise<string> {
  return levelOf((await store.query<{ name: string }>(sqlFile("ops/applied_migrations.sql"))).map((row) => row.name));
}

export async function migrate(store: Store): Promise<{ applied: string[] }> {
  await store.command(sqlFile("ops/schema_migrations.sql"));
  const done = new Set(
    (await store.query<{ name: string }>(sqlFile("ops/applied_migrations.sql"))).map((row) => row.name),
  );
  const applied: string[] = [];
  for (const migration of sqlFolder("schema")) {
    if (done.has(migration.name)) continue;
    const statements = splitStatements(migration.text);
    for (const [index, statement] of statements.entries()) {
      // Each statement is recorded as it completes ("0005_x.sql#3"), and a rerun after a crash
      // resumes after the last one: a migration that moves tables around (0005) could not
      // start over from its first statement once its tables have moved.
      const step = `${migration.name}#${index + 1}`;
      if (done.has(step)) continue;
      await store.command(statement);
      if (statements.length > 1) await store.insertRows("schema_migrations", [{ name: step }]);
    }
    await store.insertRows("schema_migrations", [{ name: migration.name }]);
    applied.push(migration.name);
  }
  for (const view of sqlFolder("views")) {
    for (const statement of splitStatements(view.text)) await store.command(statement);
  }
  return { applied };
}
