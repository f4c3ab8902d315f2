-- The engine parsing the bench file straight into the plain table (ceiling_import_table.sql).
INSERT INTO bench_ceiling_import
SELECT *
FROM file({file:String}, 'JSONEachRow',
          'kind String, item_id String, source String, stream String, key String, title String, url String,
           flow_type String, team String, labels Array(String), created_at Nullable(DateTime64(3, \'UTC\')),
           source_type String, event_id String, from_state String, to_state String, to_flow_state String,
           at Nullable(DateTime64(3, \'UTC\'))')
SETTINGS date_time_input_format = 'best_effort'
