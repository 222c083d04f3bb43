-- Approval of activations that move many households between grids
-- (分级审批): a request with its reason and the moves it was asked for, the
-- decision of an admin above the requester, and the one activation that
-- used it.
CREATE TABLE activation_requests (
    id                bigserial PRIMARY KEY,
    generation        integer NOT NULL REFERENCES generations (id) ON DELETE CASCADE,
    moving_buildings  integer NOT NULL,
    moving_households integer NOT NULL,
    reason            text NOT NULL,
    state             text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'approved', 'refused', 'used')),
    requested_by      text NOT NULL,
    requester_scope   text NOT NULL,
    requested_at      timestamptz NOT NULL DEFAULT now(),
    decided_by        text,
    decided_at        timestamptz,
    note              text NOT NULL DEFAULT '',
    expires_at        timestamptz,
    used_at           timestamptz
);
CREATE INDEX activation_requests_generation ON activation_requests (generation);
