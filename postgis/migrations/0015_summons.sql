-- 吹哨报到 (issue 17 §1): the street or the centre summons departments on a
-- case; each summons is a child task with its own department, assignee,
-- working-time deadline, returns and extensions, and its events join the
-- case's history (so the event stream and webhooks carry them).

-- The role that takes a department's summons on the ground, found on the
-- case's chain like a case's handler.
ALTER TABLE departments ADD COLUMN summons_role text NOT NULL DEFAULT 'full_time'
    CHECK (summons_role IN ('grid_chief', 'full_time', 'part_time', 'police', 'chengguan', 'market'));
UPDATE departments SET summons_role = CASE code
    WHEN 'chengguan' THEN 'chengguan' WHEN 'gongan' THEN 'police' WHEN 'shichang' THEN 'market'
    WHEN 'dangjian' THEN 'grid_chief' ELSE 'full_time' END;

-- A department's supervisor (部门督办人), at a street or a district: where
-- an overdue summons is escalated.
ALTER TABLE assignments DROP CONSTRAINT assignments_role_check;
ALTER TABLE assignments ADD CONSTRAINT assignments_role_check CHECK (role IN ('grid_chief', 'full_time', 'part_time',
    'police', 'chengguan', 'market', 'community_supervisor', 'street_supervisor', 'district_supervisor', 'dept_supervisor'));

CREATE TABLE summons (
    id              bigserial PRIMARY KEY,
    incident_id     bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    dept_code       text NOT NULL REFERENCES departments (code),
    state           text NOT NULL DEFAULT 'dispatched' CHECK (state IN ('dispatched', 'accepted', 'extension_requested',
                        'returned', 'handled', 'cancelled')),
    version         int  NOT NULL DEFAULT 1,
    task            text NOT NULL CHECK (task <> '' AND length(task) <= 2000),
    answer          text NOT NULL DEFAULT '',
    assignee_id     bigint REFERENCES people (id),
    assignee_role   text NOT NULL DEFAULT '',
    assignee_level  text NOT NULL DEFAULT '',
    assignee_code   text NOT NULL DEFAULT '',
    assign_reason   text NOT NULL DEFAULT '',
    supervisor_id   bigint REFERENCES people (id),
    supervisor_level text NOT NULL DEFAULT '',
    supervisor_code text NOT NULL DEFAULT '',
    limit_value     int  NOT NULL CHECK (limit_value BETWEEN 1 AND 10000),
    limit_unit      text NOT NULL CHECK (limit_unit IN ('work_hours', 'work_days', 'hours')),
    warn_at         timestamptz NOT NULL,
    deadline_at     timestamptz NOT NULL,
    alert           text NOT NULL DEFAULT '' CHECK (alert IN ('', 'approaching', 'overdue')),
    escalations     int  NOT NULL DEFAULT 0,
    rework_count    int  NOT NULL DEFAULT 0,
    extension_hours float8 NOT NULL DEFAULT 0,
    summoned_by     text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    accepted_at     timestamptz,
    handled_at      timestamptz
);
CREATE INDEX summons_incident ON summons (incident_id);
CREATE INDEX summons_dept ON summons (dept_code, created_at);
CREATE INDEX summons_open_assignee ON summons (assignee_id) WHERE state NOT IN ('handled', 'cancelled');
CREATE INDEX summons_clock ON summons (deadline_at) WHERE state IN ('dispatched', 'accepted', 'extension_requested');
-- One open summons per department and case: summon a department again
-- only after its last one is handled or cancelled.
CREATE UNIQUE INDEX summons_one_open ON summons (incident_id, dept_code) WHERE state NOT IN ('handled', 'cancelled');

-- 超时督办 of a summons goes to its department's supervisor, once.
CREATE TABLE summons_escalations (
    summons_id    bigint PRIMARY KEY REFERENCES summons (id) ON DELETE CASCADE,
    level         text NOT NULL DEFAULT '',
    area_code     text NOT NULL DEFAULT '',
    supervisor_id bigint REFERENCES people (id),
    reason        text NOT NULL DEFAULT '',
    at            timestamptz NOT NULL DEFAULT now()
);

-- A case event about a summons names it and its state after the event.
ALTER TABLE incident_events ADD COLUMN summons_id bigint REFERENCES summons (id) ON DELETE CASCADE;
ALTER TABLE incident_events ADD COLUMN summons_state text NOT NULL DEFAULT '';
CREATE INDEX incident_events_summons ON incident_events (summons_id, id) WHERE summons_id IS NOT NULL;

CREATE OR REPLACE FUNCTION gridd_incident_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('gridd_incident', json_build_object(
        'id', NEW.id, 'incident_id', NEW.incident_id, 'action', NEW.action, 'from_state', NEW.from_state,
        'to_state', NEW.to_state, 'version', NEW.version, 'actor', left(NEW.actor, 200), 'role', NEW.role,
        'note', left(NEW.note, 500), 'at', NEW.at, 'summons_id', coalesce(NEW.summons_id, 0),
        'summons_state', NEW.summons_state)::text);
    INSERT INTO webhook_deliveries (webhook_id, event_id)
    SELECT w.id, NEW.id FROM webhooks w WHERE w.active AND (w.actions = '{}' OR NEW.action = ANY (w.actions));
    RETURN NULL;
END $$;
