-- Record hours and content hours, merged: an hour may have only one kind. {int} and {float} are
-- the dialect's type names, {content_hour} the hour of a blob's creation, {records_filter} and
-- {content_filter} the conditions of each side, {order} the ordering.
SELECT tenant_id, source, hour,
    CAST(sum(records_fetched) AS {int}) AS records_fetched,
    CAST(sum(records_stored) AS {int}) AS records_stored,
    CAST(sum(avail_count) AS {int}) AS avail_count,
    CAST(sum(avail_sum) AS {float}) AS avail_sum,
    CAST(max(avail_max) AS {float}) AS avail_max,
    CAST(sum(stored_sum) AS {float}) AS stored_sum,
    CAST(max(stored_max) AS {float}) AS stored_max,
    CAST(sum(listed) AS {int}) AS listed,
    CAST(sum(fetched) AS {int}) AS fetched,
    CAST(sum(expired) AS {int}) AS expired
FROM (
    SELECT tenant_id, source, hour, records_fetched, records_stored, avail_count,
        avail_sum_seconds AS avail_sum, avail_max_seconds AS avail_max,
        stored_sum_seconds AS stored_sum, stored_max_seconds AS stored_max,
        0 AS listed, 0 AS fetched, 0 AS expired
    FROM coverage WHERE {records_filter}
    UNION ALL
    SELECT tenant_id, source, {content_hour}, 0, 0, 0, 0.0, 0.0, 0.0, 0.0,
        CASE WHEN status = 'listed' THEN 1 ELSE 0 END,
        CASE WHEN status = 'fetched' THEN 1 ELSE 0 END,
        CASE WHEN status = 'expired' THEN 1 ELSE 0 END
    FROM content_ledger WHERE {content_filter}
) AS merged
GROUP BY tenant_id, source, hour
ORDER BY {order}
