INSERT INTO source_state (tenant_id, source, last_run_fetched, last_run_new, last_error_at,
    last_error_code, last_error_message)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (tenant_id, source) DO UPDATE SET
    last_run_fetched = excluded.last_run_fetched,
    last_run_new = excluded.last_run_new,
    last_error_at = excluded.last_error_at,
    last_error_code = excluded.last_error_code,
    last_error_message = excluded.last_error_message
