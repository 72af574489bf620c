INSERT INTO source_state (tenant_id, source, last_attempt) VALUES ($1, $2, $3)
ON CONFLICT (tenant_id, source) DO UPDATE SET
    last_attempt = excluded.last_attempt
