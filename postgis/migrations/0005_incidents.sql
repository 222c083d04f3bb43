-- Incident routing and the closed-loop case workflow: people and their
-- responsibilities (定人定岗定责), the category catalogue, the working-time
-- calendar, cases with their history, escalations, webhooks; and the
-- notifications that keep replicas in step (LISTEN gridd_generation,
-- gridd_incident).

-- People and what they are responsible for. Responsibilities attach to
-- area codes, not generations: a grid that keeps its code in a new
-- generation keeps its people.
CREATE TABLE people (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL CHECK (name <> ''),
    phone      text NOT NULL DEFAULT '',
    dept_code  text REFERENCES departments (code),
    active     boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE assignments (
    person_id bigint NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    area_code text   NOT NULL CHECK (area_code ~ '^[0-9]{6}([0-9]{3}){0,3}$'),
    role      text   NOT NULL CHECK (role IN ('grid_chief', 'full_time', 'part_time', 'police', 'chengguan', 'market',
                                              'community_supervisor', 'street_supervisor', 'district_supervisor')),
    post      text   NOT NULL DEFAULT 'A' CHECK (post IN ('A', 'B')),  -- AB岗
    PRIMARY KEY (person_id, area_code, role)
);
CREATE INDEX assignments_area ON assignments (area_code, role);

-- Weekly on-duty windows; a person with none is always on duty.
CREATE TABLE duty_windows (
    person_id bigint NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    weekday   int NOT NULL CHECK (weekday BETWEEN 1 AND 7),  -- ISO: 1 Monday … 7 Sunday
    start_min int NOT NULL CHECK (start_min BETWEEN 0 AND 1439),
    end_min   int NOT NULL CHECK (end_min BETWEEN 1 AND 1440 AND end_min > start_min),
    PRIMARY KEY (person_id, weekday, start_min)
);

-- The category catalogue: who handles what, how fast.
CREATE TABLE categories (
    code        text PRIMARY KEY CHECK (code ~ '^[A-Za-z0-9_.-]{1,32}$'),
    name        text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('event', 'component')),  -- 事件 / 部件
    class       text NOT NULL,                                        -- the major class, e.g. 市容环境
    dept_code   text NOT NULL REFERENCES departments (code),
    role        text NOT NULL CHECK (role IN ('grid_chief', 'full_time', 'part_time', 'police', 'chengguan', 'market')),
    limit_value int  NOT NULL CHECK (limit_value BETWEEN 1 AND 10000),
    limit_unit  text NOT NULL CHECK (limit_unit IN ('work_hours', 'work_days', 'hours')),
    verify      boolean NOT NULL DEFAULT true,
    active      boolean NOT NULL DEFAULT true,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- The default catalogue, after the classes of digital city management
-- (数字化城市管理, GB/T 30428.2): 事件 E + class + subclass, 部件 C + …; and
-- the social-governance events grid workers handle (E06).
INSERT INTO categories (code, name, kind, class, dept_code, role, limit_value, limit_unit, verify) VALUES
    ('E0101', '私搭乱建',         'event', '市容环境', 'chengguan', 'chengguan', 5, 'work_days',  true),
    ('E0102', '暴露垃圾',         'event', '市容环境', 'chengguan', 'chengguan', 2, 'work_hours', true),
    ('E0103', '积存垃圾渣土',     'event', '市容环境', 'chengguan', 'chengguan', 4, 'work_hours', true),
    ('E0104', '道路不洁',         'event', '市容环境', 'chengguan', 'chengguan', 2, 'work_hours', true),
    ('E0105', '水域不洁',         'event', '市容环境', 'chengguan', 'chengguan', 1, 'work_days',  true),
    ('E0106', '绿地脏乱',         'event', '市容环境', 'chengguan', 'chengguan', 4, 'work_hours', true),
    ('E0107', '废弃家具设备',     'event', '市容环境', 'chengguan', 'chengguan', 1, 'work_days',  true),
    ('E0108', '餐饮油烟',         'event', '市容环境', 'chengguan', 'chengguan', 3, 'work_days',  true),
    ('E0201', '非法小广告',       'event', '宣传广告', 'chengguan', 'chengguan', 4, 'work_hours', true),
    ('E0202', '违规张贴悬挂',     'event', '宣传广告', 'chengguan', 'chengguan', 1, 'work_days',  true),
    ('E0203', '占道广告牌',       'event', '宣传广告', 'chengguan', 'chengguan', 1, 'work_days',  true),
    ('E0301', '施工扰民',         'event', '施工管理', 'chengguan', 'chengguan', 4, 'work_hours', true),
    ('E0302', '工地扬尘',         'event', '施工管理', 'chengguan', 'chengguan', 4, 'work_hours', true),
    ('E0303', '道路遗撒',         'event', '施工管理', 'chengguan', 'chengguan', 2, 'work_hours', true),
    ('E0304', '施工占道',         'event', '施工管理', 'chengguan', 'chengguan', 1, 'work_days',  true),
    ('E0305', '无证掘路',         'event', '施工管理', 'chengguan', 'chengguan', 1, 'work_days',  true),
    ('E0401', '路面塌陷',         'event', '突发事件', 'yingji',    'chengguan', 1, 'hours',      false),
    ('E0402', '自来水管破裂',     'event', '突发事件', 'yingji',    'chengguan', 2, 'hours',      false),
    ('E0403', '燃气泄漏',         'event', '突发事件', 'yingji',    'full_time', 1, 'hours',      false),
    ('E0404', '道路积水',         'event', '突发事件', 'yingji',    'chengguan', 2, 'hours',      false),
    ('E0405', '火情',             'event', '突发事件', 'yingji',    'police',    1, 'hours',      false),
    ('E0501', '无照经营游商',     'event', '街面秩序', 'chengguan', 'chengguan', 2, 'work_hours', true),
    ('E0502', '店外经营',         'event', '街面秩序', 'chengguan', 'chengguan', 2, 'work_hours', true),
    ('E0503', '占道经营',         'event', '街面秩序', 'chengguan', 'chengguan', 2, 'work_hours', true),
    ('E0504', '机动车乱停放',     'event', '街面秩序', 'gongan',    'police',    2, 'work_hours', true),
    ('E0505', '非机动车乱停放',   'event', '街面秩序', 'chengguan', 'chengguan', 4, 'work_hours', true),
    ('E0506', '露天烧烤',         'event', '街面秩序', 'chengguan', 'chengguan', 2, 'work_hours', true),
    ('E0507', '乞讨卖艺',         'event', '街面秩序', 'gongan',    'police',    4, 'work_hours', true),
    ('E0601', '矛盾纠纷',         'event', '其他',     'zongzhi',   'full_time', 3, 'work_days',  true),
    ('E0602', '安全隐患',         'event', '其他',     'yingji',    'full_time', 1, 'work_days',  true),
    ('E0603', '食品安全',         'event', '其他',     'shichang',  'market',    1, 'work_days',  true),
    ('E0604', '违规经营',         'event', '其他',     'shichang',  'market',    3, 'work_days',  true),
    ('E0605', '治安隐患',         'event', '其他',     'gongan',    'police',    1, 'work_days',  true),
    ('E0699', '其他事件',         'event', '其他',     'zongzhi',   'full_time', 5, 'work_days',  true),
    ('C0101', '上水井盖',         'component', '公用设施', 'chengguan', 'chengguan', 4, 'work_hours', true),
    ('C0102', '污水井盖',         'component', '公用设施', 'chengguan', 'chengguan', 4, 'work_hours', true),
    ('C0103', '雨水箅子',         'component', '公用设施', 'chengguan', 'chengguan', 4, 'work_hours', true),
    ('C0104', '电力井盖',         'component', '公用设施', 'chengguan', 'chengguan', 1, 'work_days',  true),
    ('C0105', '消防栓',           'component', '公用设施', 'yingji',    'chengguan', 1, 'work_days',  true),
    ('C0106', '路灯',             'component', '公用设施', 'chengguan', 'chengguan', 2, 'work_days',  true),
    ('C0201', '交通标志牌',       'component', '道路交通', 'gongan',    'police',    3, 'work_days',  true),
    ('C0202', '交通信号灯',       'component', '道路交通', 'gongan',    'police',    4, 'work_hours', true),
    ('C0203', '护栏',             'component', '道路交通', 'chengguan', 'chengguan', 2, 'work_days',  true),
    ('C0204', '公交站亭',         'component', '道路交通', 'chengguan', 'chengguan', 3, 'work_days',  true),
    ('C0205', '人行道板',         'component', '道路交通', 'chengguan', 'chengguan', 3, 'work_days',  true),
    ('C0301', '公共厕所',         'component', '市容环境', 'chengguan', 'chengguan', 1, 'work_days',  true),
    ('C0302', '垃圾箱',           'component', '市容环境', 'chengguan', 'chengguan', 1, 'work_days',  true),
    ('C0303', '户外广告设施',     'component', '市容环境', 'chengguan', 'chengguan', 3, 'work_days',  true),
    ('C0401', '行道树',           'component', '园林绿化', 'chengguan', 'chengguan', 3, 'work_days',  true),
    ('C0402', '绿地',             'component', '园林绿化', 'chengguan', 'chengguan', 3, 'work_days',  true),
    ('C0403', '古树名木',         'component', '园林绿化', 'chengguan', 'chengguan', 1, 'work_days',  true),
    ('C0501', '宣传栏',           'component', '房屋土地', 'chengguan', 'chengguan', 3, 'work_days',  true),
    ('C0502', '危房',             'component', '房屋土地', 'yingji',    'full_time', 1, 'work_days',  true),
    ('C0601', '其他部件',         'component', '其他设施', 'chengguan', 'chengguan', 5, 'work_days',  true);

-- The working-time calendar: working hours per ISO weekday, and the days
-- that break the week (holidays, and weekend days worked: 调休). Holidays
-- are published yearly by the State Council; load them through the API.
CREATE TABLE work_hours (
    weekday   int NOT NULL CHECK (weekday BETWEEN 1 AND 7),
    start_min int NOT NULL CHECK (start_min BETWEEN 0 AND 1439),
    end_min   int NOT NULL CHECK (end_min BETWEEN 1 AND 1440 AND end_min > start_min),
    PRIMARY KEY (weekday, start_min)
);
INSERT INTO work_hours (weekday, start_min, end_min)
SELECT d, s, e FROM generate_series(1, 5) d, (VALUES (510, 720), (780, 1050)) w (s, e);  -- 08:30–12:00, 13:00–17:30

CREATE TABLE holidays (
    day  date PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('holiday', 'workday')),
    name text NOT NULL DEFAULT ''
);

CREATE TABLE calendar_settings (
    id          boolean PRIMARY KEY DEFAULT true CHECK (id),
    day_minutes int NOT NULL DEFAULT 480 CHECK (day_minutes BETWEEN 1 AND 1440)  -- one working day of a time limit
);
INSERT INTO calendar_settings DEFAULT VALUES;

-- Cases. The location is stored as routed at report time: the codes for
-- filtering and metrics, the chain with names as the reporter saw it.
CREATE TABLE incidents (
    id              bigserial PRIMARY KEY,
    category_code   text NOT NULL REFERENCES categories (code),
    state           text NOT NULL DEFAULT 'reported' CHECK (state IN ('reported', 'registered', 'dispatched', 'accepted',
                        'extension_requested', 'returned', 'handled', 'verified', 'closed', 'suspended', 'cancelled')),
    version         int  NOT NULL DEFAULT 1,
    lon             float8 NOT NULL CHECK (lon BETWEEN -180 AND 180),  -- WGS84
    lat             float8 NOT NULL CHECK (lat BETWEEN -90 AND 90),
    geom            geometry(Point, 4326) GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(lon, lat), 4326)) STORED,
    srs             text NOT NULL DEFAULT 'wgs84',
    generation      int,
    match           text NOT NULL CHECK (match IN ('inside', 'nearest', 'district', 'none')),
    distance_m      float8 NOT NULL DEFAULT 0,
    grid_code       text NOT NULL DEFAULT '',
    community_code  text NOT NULL DEFAULT '',
    street_code     text NOT NULL DEFAULT '',
    district_code   text NOT NULL DEFAULT '',
    chain           jsonb NOT NULL DEFAULT '{}',
    address         text NOT NULL DEFAULT '',
    description     text NOT NULL DEFAULT '',
    reporter_name   text NOT NULL DEFAULT '',
    reporter_phone  text NOT NULL DEFAULT '',
    source          text NOT NULL CHECK (source IN ('grid_worker', 'hotline', 'camera', 'app', 'open311', 'api')),
    attachments     text[] NOT NULL DEFAULT '{}',
    dept_code       text NOT NULL REFERENCES departments (code),
    assignee_id     bigint REFERENCES people (id),
    assignee_role   text NOT NULL DEFAULT '',
    assignee_level  text NOT NULL DEFAULT '',
    assignee_code   text NOT NULL DEFAULT '',
    assign_reason   text NOT NULL DEFAULT '',
    supervisor_id   bigint REFERENCES people (id),
    supervisor_level text NOT NULL DEFAULT '',
    supervisor_code text NOT NULL DEFAULT '',
    limit_value     int  NOT NULL,
    limit_unit      text NOT NULL,
    warn_at         timestamptz NOT NULL,
    deadline_at     timestamptz NOT NULL,
    alert           text NOT NULL DEFAULT '' CHECK (alert IN ('', 'approaching', 'overdue')),
    escalations     int  NOT NULL DEFAULT 0,
    rework_count    int  NOT NULL DEFAULT 0,
    extension_hours float8 NOT NULL DEFAULT 0,  -- asked for, while extension_requested
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    handled_at      timestamptz,
    closed_at       timestamptz,
    idempotency_key text UNIQUE,
    request_hash    text NOT NULL DEFAULT '',
    token           uuid NOT NULL UNIQUE DEFAULT gen_random_uuid()  -- Open311 token
);
CREATE INDEX incidents_created ON incidents (created_at);
CREATE INDEX incidents_grid ON incidents (grid_code, created_at);
CREATE INDEX incidents_community ON incidents (community_code, created_at);
CREATE INDEX incidents_street ON incidents (street_code, created_at);
CREATE INDEX incidents_district ON incidents (district_code, created_at);
CREATE INDEX incidents_open_assignee ON incidents (assignee_id) WHERE state NOT IN ('closed', 'cancelled');
CREATE INDEX incidents_clock ON incidents (deadline_at)
    WHERE state IN ('reported', 'registered', 'dispatched', 'accepted', 'extension_requested', 'returned');

-- Every change of a case, and the system's events about it. This table is
-- the source of the SSE stream and of webhooks.
CREATE TABLE incident_events (
    id          bigserial PRIMARY KEY,
    incident_id bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    action      text NOT NULL,
    from_state  text NOT NULL DEFAULT '',
    to_state    text NOT NULL,
    version     int  NOT NULL,
    actor       text NOT NULL DEFAULT '',
    role        text NOT NULL DEFAULT '',
    note        text NOT NULL DEFAULT '',
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX incident_events_incident ON incident_events (incident_id, id);

-- 超时督办: one escalation per case and deadline, whatever the number of
-- scheduler replicas and restarts.
CREATE TABLE escalations (
    incident_id   bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    deadline_at   timestamptz NOT NULL,
    level         text NOT NULL DEFAULT '',
    area_code     text NOT NULL DEFAULT '',
    supervisor_id bigint REFERENCES people (id),
    reason        text NOT NULL DEFAULT '',
    at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (incident_id, deadline_at)
);

-- Outgoing webhooks and their delivery queue.
CREATE TABLE webhooks (
    id         bigserial PRIMARY KEY,
    url        text NOT NULL CHECK (url ~ '^https?://'),
    secret     text NOT NULL DEFAULT '',
    actions    text[] NOT NULL DEFAULT '{}',  -- empty: every action
    active     boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE webhook_deliveries (
    id           bigserial PRIMARY KEY,
    webhook_id   bigint NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id     bigint NOT NULL REFERENCES incident_events (id) ON DELETE CASCADE,
    state        text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts     int  NOT NULL DEFAULT 0,
    next_at      timestamptz NOT NULL DEFAULT now(),
    last_status  int,
    last_error   text NOT NULL DEFAULT '',
    delivered_at timestamptz,
    UNIQUE (webhook_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at) WHERE state = 'pending';

-- Replicas learn of an activation, however it was made, from this
-- notification (delivered at commit).
CREATE FUNCTION gridd_generation_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.state = 'active' AND (TG_OP = 'INSERT' OR OLD.state IS DISTINCT FROM 'active') THEN
        PERFORM pg_notify('gridd_generation', NEW.id::text);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER generations_notify AFTER INSERT OR UPDATE OF state ON generations
    FOR EACH ROW EXECUTE FUNCTION gridd_generation_notify();

-- Every case event is announced (for SSE on every replica) and queued for
-- each webhook that wants it, in the transaction that records it.
CREATE FUNCTION gridd_incident_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('gridd_incident', json_build_object(
        'id', NEW.id, 'incident_id', NEW.incident_id, 'action', NEW.action, 'from_state', NEW.from_state,
        'to_state', NEW.to_state, 'version', NEW.version, 'actor', left(NEW.actor, 200), 'role', NEW.role,
        'note', left(NEW.note, 500), 'at', NEW.at)::text);
    INSERT INTO webhook_deliveries (webhook_id, event_id)
    SELECT w.id, NEW.id FROM webhooks w WHERE w.active AND (w.actions = '{}' OR NEW.action = ANY (w.actions));
    RETURN NULL;
END $$;
CREATE TRIGGER incident_events_notify AFTER INSERT ON incident_events
    FOR EACH ROW EXECUTE FUNCTION gridd_incident_event();
