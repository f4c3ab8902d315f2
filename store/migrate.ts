// Applies the schema: dated table migrations in sql/schema/ once each (recorded, never edited once
// applied), then every view in sql/views/ (CREATE OR REPLACE, so views follow the code).
import { splitStatements, sqlFile, sqlFolder } from "./sql.ts";
import type { Store } from "./store.ts";

export async function migrate(store: Store): Promise<{ applied: string[] }> {
  await store.command(sqlFile("ops/schema_migrations.sql"));
  const done = new Set(
    (await store.query<{ name: string }>(sqlFile("ops/applied_migrations.sql"))).map((row) => row.name),
  );
  const applied: string[] = [];
  for (const migration of sqlFolder("schema")) {
    if (done.has(migration.name)) continue;
    for (const statement of splitStatements(migration.text)) await store.command(statement);
    await store.insertRows("schema_migrations", [{ name: migration.name }]);
    applied.push(migration.name);
  }
  for (const view of sqlFolder("views")) {
    for (const statement of splitStatements(view.text)) await store.command(statement);
  }
  return { applied };
}
