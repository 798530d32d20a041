-- Phase 1: core tables. Users, teams and team memberships.
-- Every foreign key cascades on delete (the seed's ERD); constraint names are the ones in
-- clientnest_core::constraint so errors name the same rule in every backend.

CREATE TABLE users (
    id              uuid         PRIMARY KEY,
    email           varchar(254) NOT NULL,
    password_hash   text         NOT NULL,
    first_name      varchar(50)  NOT NULL,
    last_name       varchar(50)  NOT NULL,
    avatar_url      text,
    timezone        varchar(50)  NOT NULL DEFAULT 'UTC',
    is_active       boolean      NOT NULL DEFAULT true,
    email_verified  boolean      NOT NULL DEFAULT false,
    created_at      timestamptz  NOT NULL DEFAULT now(),
    updated_at      timestamptz  NOT NULL DEFAULT now(),
    last_login      timestamptz,
    preferences     jsonb        NOT NULL DEFAULT '{}'::jsonb,
    CONSTRAINT chk_users_email_format
        CHECK (email ~* '^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$')
);

-- Email is unique regardless of case.
CREATE UNIQUE INDEX uq_users_email ON users (lower(email));

CREATE TABLE teams (
    id            uuid         PRIMARY KEY,
    name          varchar(100) NOT NULL,
    owner_id      uuid         NOT NULL
        CONSTRAINT fk_teams_owner REFERENCES users (id) ON DELETE CASCADE,
    plan_type     varchar(20)  NOT NULL
        CONSTRAINT chk_teams_plan_type
        CHECK (plan_type IN ('free', 'starter', 'professional', 'business', 'enterprise')),
    created_at    timestamptz  NOT NULL DEFAULT now(),
    updated_at    timestamptz  NOT NULL DEFAULT now(),
    settings      jsonb        NOT NULL DEFAULT '{}'::jsonb,
    billing_info  jsonb        NOT NULL DEFAULT '{}'::jsonb
);

CREATE INDEX idx_teams_owner ON teams (owner_id);

CREATE TABLE team_members (
    id           uuid        PRIMARY KEY,
    user_id      uuid        NOT NULL
        CONSTRAINT fk_team_members_user REFERENCES users (id) ON DELETE CASCADE,
    team_id      uuid        NOT NULL
        CONSTRAINT fk_team_members_team REFERENCES teams (id) ON DELETE CASCADE,
    role         varchar(20) NOT NULL
        CONSTRAINT chk_team_members_role CHECK (role IN ('owner', 'admin', 'editor', 'viewer')),
    joined_at    timestamptz NOT NULL DEFAULT now(),
    permissions  jsonb       NOT NULL DEFAULT '{}'::jsonb,
    status       varchar(20) NOT NULL DEFAULT 'active'
        CONSTRAINT chk_team_members_status CHECK (status IN ('active', 'invited', 'suspended')),
    CONSTRAINT uq_team_members_user_team UNIQUE (user_id, team_id)
);

-- The team's member list, newest first (keyset on joined_at, id).
CREATE INDEX idx_team_members_team_joined ON team_members (team_id, joined_at DESC, id DESC);
