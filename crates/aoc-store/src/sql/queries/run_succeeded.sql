-- Without a problem, the previous error stays, with its time, for people to see.
INSERT INTO source_state (tenant_id, source, last_success, last_run_fetched, last_run_new,
    last_error_at, last_error_code, last_error_message)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (tenant_id, source) DO UPDATE SET
    last_success = excluded.last_success,
    last_run_fetched = excluded.last_run_fetched,
    last_run_new = excluded.last_run_new,
    last_error_at = coalesce(excluded.last_error_at, source_state.last_error_at),
    last_error_code = CASE WHEN excluded.last_error_at IS NULL
        THEN source_state.last_error_code ELSE excluded.last_error_code END,
    last_error_message = CASE WHEN excluded.last_error_at IS NULL
        THEN source_state.last_error_message ELSE excluded.last_error_message END
