-- 吹哨报到 in the demo's case history: about one case in twelve that got
-- past 派遣 also summoned a second department (公安 when the case is not
-- its own, else 市场监管), routed to that department's person on the
-- case's chain. A closed case's summons was handled before the case was
-- (some of them late); an open case's is still dispatched or accepted, so
-- the first scheduler pass escalates the overdue ones to the department's
-- supervisor. The events join the case's history with their summons, the
-- case's state and version as at its dispatch (3). Needs demo_history.sql
-- first; reads gridd.seed.

CREATE TEMP TABLE demo_summons_src ON COMMIT DROP AS
SELECT i.id AS incident_id, i.state AS case_state, i.created_at, i.handled_at, i.closed_at,
       CASE WHEN i.dept_code = 'gongan' THEN 'shichang' ELSE 'gongan' END AS dept,
       i.grid_code, i.community_code, i.street_code, i.district_code,
       (hashtext(current_setting('gridd.seed') || ':summons:' || i.id)::bigint & 2147483647) % 1000 AS h
FROM incidents i
WHERE i.state NOT IN ('reported', 'registered', 'cancelled')
  AND coalesce(i.handled_at, i.closed_at, i.created_at + interval '1 day') > i.created_at + interval '4 hours'  -- room for the summons before the case's handling
  AND (hashtext(current_setting('gridd.seed') || ':summon?' || i.id)::bigint & 2147483647) % 12 = 0;

CREATE TEMP TABLE demo_summons_rows ON COMMIT DROP AS
SELECT src.*, d.name AS dept_name, d.summons_role AS role, who.id AS assignee_id, who.area_code, who.name AS assignee_name,
       src.created_at + interval '1 hour' AS summoned_at,
       src.created_at + interval '1 hour' + interval '2.8 days' AS deadline_at,
       CASE WHEN src.case_state IN ('handled', 'verified', 'closed') THEN 'handled'
            WHEN src.h % 2 = 0 THEN 'accepted' ELSE 'dispatched' END AS state
FROM demo_summons_src src
JOIN departments d ON d.code = src.dept
LEFT JOIN LATERAL (
    SELECT p.id, a.area_code, p.name FROM assignments a JOIN people p ON p.id = a.person_id
    WHERE a.role = d.summons_role AND p.dept_code = src.dept
      AND a.area_code IN (src.grid_code, src.community_code, src.street_code, src.district_code)
    ORDER BY length(a.area_code) DESC, a.post, p.id LIMIT 1) who ON true;

CREATE TEMP TABLE demo_summons_ids ON COMMIT DROP AS
WITH ins AS (
    INSERT INTO summons (incident_id, dept_code, state, version, task, answer, assignee_id, assignee_role, assignee_level, assignee_code,
        assign_reason, limit_value, limit_unit, warn_at, deadline_at, summoned_by, created_at, updated_at, accepted_at, handled_at)
    SELECT r.incident_id, r.dept, r.state, CASE r.state WHEN 'handled' THEN 3 WHEN 'accepted' THEN 2 ELSE 1 END,
           '联合处置（演示数据）', CASE WHEN r.state = 'handled' THEN '已配合处置（演示数据）' ELSE '' END,
           r.assignee_id, CASE WHEN r.assignee_id IS NULL THEN '' ELSE r.role END,
           CASE length(r.area_code) WHEN 15 THEN 'grid' WHEN 12 THEN 'community' WHEN 9 THEN 'street' WHEN 6 THEN 'district' ELSE '' END,
           coalesce(r.area_code, ''), CASE WHEN r.assignee_id IS NULL THEN 'unassigned (demo)' ELSE 'routed on the chain (demo)' END,
           2, 'work_days', r.summoned_at + interval '2.24 days', r.deadline_at, '指挥中心（演示）', r.summoned_at,
           coalesce(r.handled_at, r.summoned_at), CASE WHEN r.state <> 'dispatched' THEN r.summoned_at + interval '2 hours' END,
           CASE WHEN r.state = 'handled' THEN
                -- before the case's own handling; about one in six after the summons' deadline
                least(coalesce(r.handled_at, r.closed_at) - interval '1 minute',
                      r.summoned_at + CASE WHEN r.h % 6 = 0 THEN interval '3.5 days' ELSE interval '1 day' END) END
    FROM demo_summons_rows r
    RETURNING id, incident_id, state, accepted_at, handled_at, created_at)
SELECT * FROM ins;

INSERT INTO incident_events (incident_id, action, from_state, to_state, version, actor, role, note, at, summons_id, summons_state)
SELECT s.incident_id, e.action, 'dispatched', 'dispatched', 3, e.actor, e.role, e.note, e.at, s.id, e.sstate
FROM demo_summons_ids s
JOIN demo_summons_rows r ON r.incident_id = s.incident_id
CROSS JOIN LATERAL (VALUES
    ('summon', '指挥中心（演示）', 'operator', r.dept_name || ': 联合处置（演示数据）', s.created_at, 'dispatched', true),
    ('summons_accept', coalesce(r.assignee_name, ''), r.role, r.dept_name, s.accepted_at, 'accepted', s.accepted_at IS NOT NULL),
    ('summons_handle', coalesce(r.assignee_name, ''), r.role, r.dept_name || ': 已配合处置（演示数据）', s.handled_at, 'handled', s.handled_at IS NOT NULL)
) e (action, actor, role, note, at, sstate, happened)
WHERE e.happened
ORDER BY e.at, s.id;
