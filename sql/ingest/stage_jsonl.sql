-- The engine reads a JSONL chunk itself and keeps the records it can vouch for: exactly those the
-- importer's own mapping (connectors/file/records.ts, its fast path) would accept unchanged. Every
-- other line is left out, and the importer maps it one by one, accepting or refusing it with its
-- reason: so this is only ever a faster way to the same rows, never a second set of rules.
--
-- The importer writes each line as `{"_line":N,` + the line's members + `,"_end":N}`, so a row
-- carries its line number, and a line holding two objects, half an object, or an object running
-- into the next line gives rows whose _line and _end differ (or a duplicate key, which the format
-- refuses): left out. Lines it cannot vouch for at all (not UTF-8, a `null`, a \u escape, a
-- `deleted` member, the marks' own names, not a `{...}` on one line) never reach this file: with the
-- names kept out, a line's second object cannot carry its number, so a line gives one row or none.
--
-- Strictness comes from the settings: a number, boolean, object or array where text is expected,
-- a null, and any member this file does not list are errors, and a row with an error is skipped
-- (allow_errors). The engine reads the values it skips leniently (`01`, `+1`, `.5`), so a line with
-- members of its own is left to the mapping, which ignores them. Timestamps are taken only in the two UTC forms sources
-- send by the million, and only if the parsed instant prints back as the very same text.
INSERT INTO {stage:Identifier}
    (line, kind, item_id, event_id, source, stream, key, title, url, flow_type, team, labels,
     created_at, source_type, deleted, from_state, to_state, to_flow_state, at)
SELECT
    line, kind, item_id, event_id, source, stream, key, title, url, flow_type, team, labels,
    assumeNotNull(created_time), source_type, 0, from_state, to_state, to_flow_state, assumeNotNull(at_time)
FROM
(
    SELECT
        _line AS line,
        _end,
        kind, item_id, event_id, source, stream, key, title, url, flow_type, team, labels, source_type,
        from_state, to_state, to_flow_state,
        if(kind = 'item', parseDateTime64BestEffortOrNull(created_at, 3, 'UTC'), toDateTime64(0, 3, 'UTC')) AS created_time,
        if(kind = 'transition', parseDateTime64BestEffortOrNull(at, 3, 'UTC'), toDateTime64(0, 3, 'UTC')) AS at_time,
        if(kind = 'item', created_at, at) AS time_text,
        if(kind = 'item', created_time, at_time) AS time
    FROM file({file:String}, JSONEachRow,
        '_line UInt64, _end UInt64, kind String, item_id String, event_id String, source String, stream String, key String,
         title String, url String, flow_type String, team String, labels Array(String), created_at String, source_type String,
         from_state String, to_state String, to_flow_state String, at String')
)
WHERE line > 0 AND line = _end
    -- A name the mapping keeps as it is: not empty, printable ASCII other than space at both ends.
    AND length(item_id) > 0 AND substring(item_id, 1, 1) BETWEEN '!' AND '~' AND substring(item_id, -1, 1) BETWEEN '!' AND '~'
    AND (
        kind = 'transition'
            AND length(event_id) > 0 AND substring(event_id, 1, 1) BETWEEN '!' AND '~' AND substring(event_id, -1, 1) BETWEEN '!' AND '~'
            AND length(to_state) > 0 AND substring(to_state, 1, 1) BETWEEN '!' AND '~' AND substring(to_state, -1, 1) BETWEEN '!' AND '~'
            AND to_flow_state IN ('new', 'active', 'waiting', 'done', 'canceled')
        OR kind = 'item'
            AND length(source) > 0 AND substring(source, 1, 1) BETWEEN '!' AND '~' AND substring(source, -1, 1) BETWEEN '!' AND '~'
            AND length(stream) > 0 AND substring(stream, 1, 1) BETWEEN '!' AND '~' AND substring(stream, -1, 1) BETWEEN '!' AND '~'
            AND length(key) > 0 AND substring(key, 1, 1) BETWEEN '!' AND '~' AND substring(key, -1, 1) BETWEEN '!' AND '~'
            AND length(flow_type) > 0 AND substring(flow_type, 1, 1) BETWEEN '!' AND '~' AND substring(flow_type, -1, 1) BETWEEN '!' AND '~'
    )
    -- `2026-03-01T10:15:31.000Z` or `2026-03-01T10:15:31Z`, a real instant the store holds.
    AND time IS NOT NULL
    AND substring(time_text, 11, 1) = 'T'
    AND (
        length(time_text) = 24 AND substring(time_text, 24, 1) = 'Z'
            AND toString(time) = concat(substring(time_text, 1, 10), ' ', substring(time_text, 12, 12))
        OR length(time_text) = 20 AND substring(time_text, 20, 1) = 'Z'
            AND toString(time) = concat(substring(time_text, 1, 10), ' ', substring(time_text, 12, 8), '.000')
    )
    AND substring(time_text, 1, 4) BETWEEN '1900' AND '2299'
SETTINGS
    input_format_json_read_numbers_as_strings = 0,
    input_format_json_read_bools_as_strings = 0,
    input_format_json_read_objects_as_strings = 0,
    input_format_json_read_arrays_as_strings = 0,
    input_format_skip_unknown_fields = 0,
    input_format_null_as_default = 0,
    input_format_allow_errors_num = 1000000000,
    input_format_allow_errors_ratio = 1
