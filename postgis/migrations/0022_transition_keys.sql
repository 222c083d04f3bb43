-- A transition sent again under the same Idempotency-Key (a phone that
-- queued it offline and lost the answer) is recorded once: the key is
-- kept on the event it made, unique per case.
ALTER TABLE incident_events ADD COLUMN idempotency_key text;
CREATE UNIQUE INDEX incident_events_key ON incident_events (incident_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
