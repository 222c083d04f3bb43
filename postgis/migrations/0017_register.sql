-- The register of households and residents (实有人口, issue 13 §4).
-- Personal data never lies here in the clear: each resident's name, ID
-- number, phone and birth date are sealed (AES-256-GCM, key outside the
-- database) in `sealed`; what listings show is the masked form, stored
-- beside it; ID numbers are found by a keyed hash. A dump, a backup or a
-- standby of this database reveals nothing without the key.
--
-- Like buildings, the register is loaded whole: every load is a version of
-- register_sets (its file hash makes an identical re-load a no-op; its
-- report says which households were added, removed and changed), and
-- households and residents hold the current version. A resident keeps its
-- id across loads (matched by the ID number's hash), so that the audit
-- trail of reveals keeps naming the same person.
CREATE TABLE register_sets (
    id         bigserial PRIMARY KEY,
    version    int  NOT NULL UNIQUE,
    file_name  text NOT NULL DEFAULT '',
    file_hash  text NOT NULL DEFAULT '',
    key_check  text NOT NULL,            -- names the key the register is sealed with
    tags       text[] NOT NULL,          -- the tag catalogue the load checked against
    households int  NOT NULL DEFAULT 0,
    residents  int  NOT NULL DEFAULT 0,
    report     jsonb NOT NULL DEFAULT '{}',
    loaded_by  text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE households (
    id          text COLLATE "C" PRIMARY KEY CHECK (id <> '' AND length(id) <= 100),
    -- The building (楼栋) by its id in the building set: its grid, in each
    -- generation, is the household's. Not a foreign key: a re-import of
    -- buildings may drop one, and the household waits for the next
    -- register load instead of blocking the import.
    building_id text COLLATE "C" NOT NULL,
    unit        text NOT NULL DEFAULT '',
    room        text NOT NULL DEFAULT '',
    tags        text[] NOT NULL DEFAULT '{}', -- the members' tags together, for filtering
    members     int  NOT NULL,
    digest      bytea NOT NULL               -- what makes a re-loaded household "changed"
);
CREATE INDEX households_building ON households (building_id, unit, room, id);
CREATE INDEX households_tags ON households USING gin (tags);

CREATE TABLE residents (
    id           bigserial PRIMARY KEY,
    household_id text COLLATE "C" NOT NULL CONSTRAINT residents_household_fk REFERENCES households (id) ON DELETE CASCADE,
    seq          int   NOT NULL,              -- order within the household, as in the file
    id_hash      bytea NOT NULL CONSTRAINT residents_id_hash_key UNIQUE, -- HMAC-SHA256 of the ID number: lookups, and one person once
    name_mask    text  NOT NULL,              -- 王*明
    id_mask      text  NOT NULL,              -- 330203********1234
    phone_mask   text  NOT NULL DEFAULT '',   -- 139****0000
    birth_year   int,                         -- age groups without the day
    tags         text[] NOT NULL DEFAULT '{}',
    sealed       bytea NOT NULL,              -- AES-GCM of the record, bound to id_hash
    digest       bytea NOT NULL               -- keyed hash of everything above: unchanged rows are not rewritten
);
-- A first load drops these three and makes them again after (register.go).
CREATE INDEX residents_household ON residents (household_id, seq);

-- Requests to export the unmasked register of an area (分级审批): made by
-- the centre, approved or refused by an admin a level above, good for one
-- download before it expires. The audit log has every step.
CREATE TABLE register_exports (
    id              bigserial PRIMARY KEY,
    area            text NOT NULL,
    reason          text NOT NULL,
    state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'approved', 'refused', 'downloaded')),
    requested_by    text NOT NULL,
    requester_scope text NOT NULL,
    requested_at    timestamptz NOT NULL DEFAULT now(),
    decided_by      text,
    decided_at      timestamptz,
    note            text NOT NULL DEFAULT '',
    expires_at      timestamptz,
    downloaded_at   timestamptz
);
CREATE INDEX register_exports_pending ON register_exports (requested_at) WHERE state = 'pending';
