-- Transitions kept but not applied: in a forward-only lifecycle (an order is never un-delivered),
-- a move into an earlier stage recorded after a later one, e.g. `approved` after `delivered`. The
-- transition stays in `transitions`; it does not move the item back (see derive/0001_state_intervals.sql).
CREATE OR REPLACE VIEW out_of_sequence_transitions AS
SELECT
    item_id,
    event_id,
    state,
    flow_state,
    entered_at AS at,
    out_of_sequence_after AS after_state,
    concat('kept, not applied: ', state, ' after ', out_of_sequence_after) AS reason,
    stream,
    team,
    flow_type,
    fromUnixTimestamp64Micro(toInt64(version), 'UTC') AS derived_at
FROM state_intervals FINAL
WHERE out_of_sequence_after != '' AND deleted = 0;
