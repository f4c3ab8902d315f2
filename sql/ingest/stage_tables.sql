-- Stage tables in the store (stage_create.sql), found to drop those a killed import left.
SELECT name FROM system.tables WHERE database = currentDatabase() AND startsWith(name, {prefix:String})
