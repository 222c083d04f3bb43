-- A synthetic case history for the demo city, so that the queue, the
-- dashboard and the analysis have something to show on first start: over
-- the last gridd.history_days days, 0 to 6 cases per grid at random
-- points of the grid, in the active categories, each routed like a live
-- case (the category's role, grid → community → street → district, the A
-- post first) and carried through the loop along a timeline drawn from
-- the seed: 立案 and 派遣 within the hour, 签收, 处置 somewhere between a
-- sixth of its time limit and a fifth past it (so some are late), a
-- rework now and then, 核查 and 结案 after. A case's state is where its
-- timeline stands now, so recent cases are still open; a few of the last
-- weeks are stuck at 签收 and go overdue, and a few reports are
-- cancelled. Time limits are turned into calendar time roughly (a working
-- day ≈ 1.4 days): this is a demo, not an audit. Reads gridd.generation,
-- gridd.seed and gridd.history_days (set_config); needs demo_people.sql
-- first.

CREATE TEMP TABLE demo_cases ON COMMIT DROP AS
WITH gen AS (
    SELECT current_setting('gridd.generation')::int AS id, current_setting('gridd.seed') AS seed,
           current_setting('gridd.history_days')::float8 AS days),
cats AS (SELECT array_agg(code ORDER BY code) AS codes FROM categories WHERE active),
grids AS (
    SELECT gr.code AS grid, gr.name AS grid_name, gr.geom, c.code AS community, c.name AS community_name,
           s.code AS street, s.name AS street_name, d.code AS district, d.name AS district_name
    FROM gen JOIN areas gr ON gr.generation = gen.id AND gr.level = 'grid'
    JOIN areas c ON c.generation = gr.generation AND c.code = gr.parent_code
    JOIN areas s ON s.generation = gr.generation AND s.code = c.parent_code
    JOIN areas d ON d.generation = gr.generation AND d.code = s.parent_code),
draws AS (
    -- r(i): the i-th uniform draw in [0, 1) of a case.
    SELECT g.*, n, gen.id AS generation, gen.days,
           array(SELECT (hashtext(gen.seed || ':' || g.grid || ':' || n || ':' || i)::bigint & 2147483647) / 2147483648.0
                 FROM generate_series(1, 11) i) AS r
    FROM grids g, gen,
         generate_series(1, (hashtext(gen.seed || ':' || g.grid)::bigint & 2147483647)::int % 7) n),
placed AS (
    SELECT d.*, c.code AS category, c.role, c.limit_value, c.limit_unit, c.verify, c.dept_code,
           coalesce(ST_GeometryN(ST_GeneratePoints(d.geom, 1, 1 + (hashtext(d.grid || ':' || d.n)::bigint & 1073741823)::int), 1),
                    ST_PointOnSurface(d.geom)) AS pt,
           -- reported between 08:00 and 20:00 China time, on a day of the period
           least(date_trunc('day', now() AT TIME ZONE 'Asia/Shanghai' - make_interval(days => floor(d.r[1] * d.days)::int))
                     AT TIME ZONE 'Asia/Shanghai' + make_interval(mins => 480 + floor(d.r[2] * 720)::int),
                 now() - interval '20 minutes') AS t0,
           CASE c.limit_unit WHEN 'hours' THEN make_interval(hours => c.limit_value)
                             WHEN 'work_hours' THEN make_interval(mins => c.limit_value * 96)
                             ELSE make_interval(hours => c.limit_value * 34) END AS span
    FROM draws d, cats
    JOIN categories c ON true
    WHERE c.code = cats.codes[1 + floor(d.r[3] * array_length(cats.codes, 1))::int]),
timed AS (
    SELECT p.*,
           p.t0 + make_interval(mins => 5 + floor(p.r[4] * 25)::int) AS t_register,
           p.t0 + make_interval(mins => 35 + floor(p.r[4] * 30)::int) AS t_dispatch,
           p.t0 + make_interval(mins => 70 + floor(p.r[5] * 60)::int) AS t_accept,
           p.t0 + greatest(p.span * (0.15 + p.r[6] * 1.05), interval '2 hours 30 minutes') AS t_handle,
           p.t0 + greatest(p.span * (0.15 + p.r[6] * 1.05), interval '2 hours 30 minutes')
               + CASE WHEN p.r[7] < 0.06 THEN interval '7 hours' + p.span * 0.2 ELSE interval '3 hours' END AS t_close,
           p.r[7] < 0.06 AS reworked,
           p.r[8] < 0.03 AS cancelled,
           p.r[8] BETWEEN 0.03 AND 0.07 AND p.t0 > now() - interval '30 days' AS stuck
    FROM placed p)
SELECT t.*, ST_X(t.pt) AS lon, ST_Y(t.pt) AS lat,
       t.t0 + t.span AS deadline, t.t0 + t.span * 0.8 AS warn,
       asg.id AS assignee_id, asg.name AS assignee_name, asg.role AS assignee_role, asg.area_code AS assignee_code,
       CASE length(asg.area_code) WHEN 15 THEN 'grid' WHEN 12 THEN 'community' WHEN 9 THEN 'street' WHEN 6 THEN 'district' ELSE '' END AS assignee_level,
       rep.name AS worker_name,
       CASE WHEN t.r[9] < 0.45 THEN 'grid_worker' WHEN t.r[9] < 0.75 THEN 'hotline' WHEN t.r[9] < 0.9 THEN 'app' ELSE 'camera' END AS source,
       -- the citizens (hotline, app) of closed cases judge seven in ten
       t.r[9] >= 0.45 AND t.r[9] < 0.9 AND t.r[10] < 0.7 AND NOT t.cancelled AND NOT t.stuck AS judged,
       t.r[11] < 0.12 AS unhappy,
       make_interval(mins => 30 + floor(t.r[10] * 4000)::int) AS t_verdict
FROM timed t
LEFT JOIN LATERAL (
    SELECT p.id, p.name, a.role, a.area_code FROM assignments a JOIN people p ON p.id = a.person_id
    WHERE a.role = t.role AND a.area_code IN (t.grid, t.community, t.street, t.district) AND p.active
    ORDER BY length(a.area_code) DESC, a.post, p.id LIMIT 1) asg ON true
LEFT JOIN LATERAL (
    SELECT p.name FROM assignments a JOIN people p ON p.id = a.person_id
    WHERE a.role = 'full_time' AND a.area_code = t.grid ORDER BY a.post, p.id LIMIT 1) rep ON true;

-- Each case's timeline: the steps it would take, at their times; the case
-- stands at the last step that has happened.
CREATE TEMP TABLE demo_steps ON COMMIT DROP AS
WITH steps AS (
    SELECT c.*, s.seq, s.action, s.from_state, s.to_state, s.at, s.by_handler
    FROM demo_cases c
    CROSS JOIN LATERAL (VALUES
        (1, 'report',   '',           'reported',   c.t0,                                   false, true),
        (2, 'cancel',   'reported',   'cancelled',  c.t_register,                           false, c.cancelled),
        (2, 'register', 'reported',   'registered', c.t_register,                           false, NOT c.cancelled),
        (3, 'dispatch', 'registered', 'dispatched', c.t_dispatch,                           false, NOT c.cancelled),
        (4, 'accept',   'dispatched', 'accepted',   c.t_accept,                             true,  NOT c.cancelled),
        (5, 'handle',   'accepted',   'handled',    c.t_handle,                             true,  NOT c.cancelled AND NOT c.stuck),
        (6, 'rework',   'handled',    'dispatched', c.t_handle + interval '3 hours',         false, NOT c.cancelled AND NOT c.stuck AND c.reworked),
        (7, 'accept',   'dispatched', 'accepted',   c.t_handle + interval '4 hours',         true,  NOT c.cancelled AND NOT c.stuck AND c.reworked),
        (8, 'handle',   'accepted',   'handled',    c.t_handle + interval '4 hours' + c.span * 0.2, true, NOT c.cancelled AND NOT c.stuck AND c.reworked),
        (9, 'verify',   'handled',    'verified',   c.t_close - interval '1 hour',         false, NOT c.cancelled AND NOT c.stuck AND c.verify),
        (10, 'close',   CASE WHEN c.verify THEN 'verified' ELSE 'handled' END, 'closed', c.t_close, false, NOT c.cancelled AND NOT c.stuck),
        -- 群众签单: most citizens judge within two days; a dissatisfied
        -- verdict reopens the case once, and it is done again.
        (11, 'verdict', 'closed',     'closed',     c.t_close + c.t_verdict,                false, c.judged),
        (12, 'reopen',  'closed',     'dispatched', c.t_close + c.t_verdict + interval '1 second', false, c.judged AND c.unhappy),
        (13, 'accept',  'dispatched', 'accepted',   c.t_close + c.t_verdict + interval '2 hours',  true,  c.judged AND c.unhappy),
        (14, 'handle',  'accepted',   'handled',    c.t_close + c.t_verdict + interval '1 day',    true,  c.judged AND c.unhappy),
        (15, 'verify',  'handled',    'verified',   c.t_close + c.t_verdict + interval '26 hours', false, c.judged AND c.unhappy AND c.verify),
        (16, 'close',   CASE WHEN c.verify THEN 'verified' ELSE 'handled' END, 'closed',
                        c.t_close + c.t_verdict + interval '27 hours',                      false, c.judged AND c.unhappy)
    ) AS s(seq, action, from_state, to_state, at, by_handler, taken)
    WHERE s.taken AND s.at <= now() - interval '1 minute')
-- A verdict is recorded at the version of the closed case (it changes
-- nothing of it), as RecordVerdict does.
SELECT *, count(*) FILTER (WHERE action <> 'verdict') OVER (PARTITION BY grid, n ORDER BY seq) AS version
FROM steps;

-- Where each case stands: its last step, its reworks, its last handling
-- (unless a rework came after it).
CREATE TEMP TABLE demo_facts ON COMMIT DROP AS
SELECT grid, n, max(version) AS version, (array_agg(to_state ORDER BY version DESC, seq DESC))[1] AS state,
       max(at) FILTER (WHERE action <> 'verdict') AS updated_at, max(at) FILTER (WHERE action = 'close') AS closed_at,
       (count(*) FILTER (WHERE action IN ('rework', 'reopen')))::int AS reworks,
       CASE WHEN max(seq) FILTER (WHERE action = 'handle') > coalesce(max(seq) FILTER (WHERE action IN ('rework', 'reopen')), 0)
            THEN max(at) FILTER (WHERE action = 'handle') END AS handled_at
FROM demo_steps GROUP BY grid, n;

-- Ids in the order of reporting, so that the history reads like one.
CREATE TEMP TABLE demo_case_ids ON COMMIT DROP AS
SELECT grid, n, nextval(pg_get_serial_sequence('incidents', 'id')) AS id
FROM (SELECT grid, n FROM demo_cases ORDER BY t0, grid, n) o;

INSERT INTO incidents (id, category_code, state, version, lon, lat, srs, generation, match, distance_m,
                       grid_code, community_code, street_code, district_code, chain, description,
                       reporter_name, source, dept_code, assignee_id, assignee_role, assignee_level, assignee_code,
                       assign_reason, limit_value, limit_unit, warn_at, deadline_at, rework_count,
                       created_at, updated_at, handled_at, closed_at)
SELECT ids.id, c.category, f.state, f.version, c.lon, c.lat, 'wgs84', c.generation, 'inside', 0,
       c.grid, c.community, c.street, c.district,
       jsonb_build_object('generation', c.generation,
           'district', jsonb_build_object('code', c.district, 'name', c.district_name),
           'street', jsonb_build_object('code', c.street, 'name', c.street_name),
           'community', jsonb_build_object('code', c.community, 'name', c.community_name),
           'grid', jsonb_build_object('code', c.grid, 'name', c.grid_name)),
       cat.name || '（演示数据）',
       CASE WHEN c.source = 'grid_worker' THEN coalesce(c.worker_name, '') ELSE '' END, c.source, c.dept_code,
       c.assignee_id, coalesce(c.assignee_role, ''), c.assignee_level, coalesce(c.assignee_code, ''),
       CASE WHEN c.assignee_id IS NULL THEN 'demo history: nobody holds the role here'
            ELSE 'demo history: ' || c.assignee_level || ' ' || c.assignee_code || ': ' || c.assignee_name END,
       c.limit_value, c.limit_unit, c.warn, c.deadline, f.reworks,
       c.t0, f.updated_at, f.handled_at, CASE WHEN f.state = 'closed' THEN f.closed_at END
FROM demo_cases c
JOIN demo_facts f USING (grid, n)
JOIN demo_case_ids ids USING (grid, n)
JOIN categories cat ON cat.code = c.category
ORDER BY ids.id;

INSERT INTO incident_events (incident_id, action, from_state, to_state, version, actor, role, note, at)
SELECT ids.id, s.action, s.from_state, s.to_state, s.version,
       CASE WHEN s.action = 'report' THEN CASE WHEN s.source = 'grid_worker' THEN coalesce(s.worker_name, '') ELSE s.source END
            WHEN s.action IN ('verdict', 'reopen') THEN 'reporter'
            WHEN s.by_handler THEN coalesce(s.assignee_name, '') ELSE '指挥中心（演示）' END,
       CASE WHEN s.action IN ('report', 'verdict', 'reopen') THEN ''
            WHEN s.by_handler THEN coalesce(s.assignee_role, '') ELSE 'operator' END,
       CASE s.action WHEN 'handle' THEN '已处置（演示数据）' WHEN 'rework' THEN '核查未通过，返工（演示数据）'
                     WHEN 'verdict' THEN CASE WHEN s.unhappy THEN '不满意 not satisfied: 问题没有解决（演示数据）' ELSE '满意 satisfied' END
                     WHEN 'reopen' THEN '群众不满意，返工: 问题没有解决（演示数据）' ELSE '' END,
       s.at
FROM demo_steps s JOIN demo_case_ids ids USING (grid, n)
ORDER BY s.at, ids.id, s.version;

INSERT INTO verdicts (incident_id, satisfied, comment, channel, reopened, at)
SELECT ids.id, NOT s.unhappy, CASE WHEN s.unhappy THEN '问题没有解决（演示数据）' ELSE '' END, 'token', s.unhappy, s.at
FROM demo_steps s JOIN demo_case_ids ids USING (grid, n)
WHERE s.action = 'verdict';
