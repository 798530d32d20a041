-- Phase 3: AI and automation. Comments and responses, templates, AI usage, automations,
-- publishing schedules and webhooks.

CREATE TABLE comments (
    id           uuid         PRIMARY KEY,
    account_id   uuid         NOT NULL
        CONSTRAINT fk_comments_account REFERENCES social_accounts (id) ON DELETE CASCADE,
    platform_id  varchar(100) NOT NULL,
    content      text         NOT NULL,
    author_name  varchar(100) NOT NULL,
    author_id    varchar(100) NOT NULL,
    sentiment    varchar(20)
        CONSTRAINT chk_comments_sentiment CHECK (sentiment IN ('positive', 'negative', 'neutral')),
    priority     varchar(20)  NOT NULL DEFAULT 'medium'
        CONSTRAINT chk_comments_priority CHECK (priority IN ('high', 'medium', 'low')),
    status       varchar(20)  NOT NULL DEFAULT 'new'
        CONSTRAINT chk_comments_status CHECK (status IN ('new', 'replied', 'ignored', 'flagged')),
    replied_at   timestamptz,
    created_at   timestamptz  NOT NULL DEFAULT now(),
    metadata     jsonb        NOT NULL DEFAULT '{}'::jsonb,
    CONSTRAINT uq_comments_account_platform_id UNIQUE (account_id, platform_id)
);

CREATE INDEX idx_comments_account_status ON comments (account_id, status);
CREATE INDEX idx_comments_created_at ON comments (created_at DESC);
CREATE INDEX idx_comments_sentiment_priority ON comments (sentiment, priority, created_at DESC);
-- The inbox: an account's comments, newest first (keyset on created_at, id).
CREATE INDEX idx_comments_account_created ON comments (account_id, created_at DESC, id DESC);

CREATE TABLE responses (
    id            uuid        PRIMARY KEY,
    comment_id    uuid        NOT NULL
        CONSTRAINT fk_responses_comment REFERENCES comments (id) ON DELETE CASCADE,
    user_id       uuid        NOT NULL
        CONSTRAINT fk_responses_user REFERENCES users (id) ON DELETE CASCADE,
    content       text        NOT NULL,
    ai_generated  boolean     NOT NULL DEFAULT false,
    sent_at       timestamptz,
    status        varchar(20) NOT NULL DEFAULT 'draft'
        CONSTRAINT chk_responses_status CHECK (status IN ('draft', 'sent', 'failed')),
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX idx_responses_comment_created ON responses (comment_id, created_at DESC, id DESC);
CREATE INDEX idx_responses_user ON responses (user_id);

CREATE TABLE templates (
    id           uuid         PRIMARY KEY,
    user_id      uuid         NOT NULL
        CONSTRAINT fk_templates_user REFERENCES users (id) ON DELETE CASCADE,
    team_id      uuid         NOT NULL
        CONSTRAINT fk_templates_team REFERENCES teams (id) ON DELETE CASCADE,
    name         varchar(100) NOT NULL,
    description  text         NOT NULL DEFAULT '',
    content      text         NOT NULL,
    category     varchar(50)  NOT NULL,
    hashtags     jsonb        NOT NULL DEFAULT '[]'::jsonb,
    is_public    boolean      NOT NULL DEFAULT false,
    usage_count  integer      NOT NULL DEFAULT 0
        CONSTRAINT chk_templates_usage_count CHECK (usage_count >= 0),
    created_at   timestamptz  NOT NULL DEFAULT now(),
    updated_at   timestamptz  NOT NULL DEFAULT now()
);

CREATE INDEX idx_templates_team_created ON templates (team_id, created_at DESC, id DESC);
CREATE INDEX idx_templates_public_created ON templates (created_at DESC, id DESC) WHERE is_public;
CREATE INDEX idx_templates_user ON templates (user_id);

CREATE TABLE ai_usage (
    id             uuid          PRIMARY KEY,
    user_id        uuid          NOT NULL
        CONSTRAINT fk_ai_usage_user REFERENCES users (id) ON DELETE CASCADE,
    team_id        uuid          NOT NULL
        CONSTRAINT fk_ai_usage_team REFERENCES teams (id) ON DELETE CASCADE,
    feature_type   varchar(50)   NOT NULL
        CONSTRAINT chk_ai_usage_feature_type
        CHECK (feature_type IN ('content_generation', 'sentiment_analysis', 'response_generation', 'content_optimization')),
    tokens_used    integer       NOT NULL,
    cost           numeric(10,4) NOT NULL,
    model_used     varchar(50)   NOT NULL,
    request_data   jsonb         NOT NULL DEFAULT '{}'::jsonb,
    response_data  jsonb         NOT NULL DEFAULT '{}'::jsonb,
    created_at     timestamptz   NOT NULL DEFAULT now(),
    metadata       jsonb         NOT NULL DEFAULT '{}'::jsonb,
    CONSTRAINT chk_ai_usage_tokens_positive CHECK (tokens_used > 0),
    CONSTRAINT chk_ai_usage_cost_positive CHECK (cost >= 0)
);

CREATE INDEX idx_ai_usage_team_created ON ai_usage (team_id, created_at DESC);
CREATE INDEX idx_ai_usage_feature_team_date ON ai_usage (feature_type, team_id, created_at DESC);
CREATE INDEX idx_ai_usage_user ON ai_usage (user_id);

CREATE TABLE automations (
    id              uuid         PRIMARY KEY,
    user_id         uuid         NOT NULL
        CONSTRAINT fk_automations_user REFERENCES users (id) ON DELETE CASCADE,
    team_id         uuid         NOT NULL
        CONSTRAINT fk_automations_team REFERENCES teams (id) ON DELETE CASCADE,
    name            varchar(100) NOT NULL,
    description     text         NOT NULL DEFAULT '',
    trigger_type    varchar(50)  NOT NULL
        CONSTRAINT chk_automations_trigger_type
        CHECK (trigger_type IN ('comment_received', 'mention_detected', 'schedule_time', 'engagement_threshold')),
    trigger_config  jsonb        NOT NULL DEFAULT '{}'::jsonb,
    action_type     varchar(50)  NOT NULL
        CONSTRAINT chk_automations_action_type
        CHECK (action_type IN ('auto_reply', 'send_notification', 'create_post', 'tag_user')),
    action_config   jsonb        NOT NULL DEFAULT '{}'::jsonb,
    is_active       boolean      NOT NULL DEFAULT true,
    created_at      timestamptz  NOT NULL DEFAULT now(),
    updated_at      timestamptz  NOT NULL DEFAULT now()
);

CREATE INDEX idx_automations_team_created ON automations (team_id, created_at DESC, id DESC);
CREATE INDEX idx_automations_active_trigger ON automations (team_id, trigger_type, created_at, id) WHERE is_active;
CREATE INDEX idx_automations_user ON automations (user_id);

CREATE TABLE schedules (
    id                 uuid         PRIMARY KEY,
    user_id            uuid         NOT NULL
        CONSTRAINT fk_schedules_user REFERENCES users (id) ON DELETE CASCADE,
    team_id            uuid         NOT NULL
        CONSTRAINT fk_schedules_team REFERENCES teams (id) ON DELETE CASCADE,
    post_id            uuid         NOT NULL
        CONSTRAINT fk_schedules_post REFERENCES posts (id) ON DELETE CASCADE,
    -- Additions to the seed: the account to publish with, the lease and the outcome.
    social_account_id  uuid         NOT NULL
        CONSTRAINT fk_schedules_social_account REFERENCES social_accounts (id) ON DELETE CASCADE,
    platform           varchar(20)  NOT NULL
        CONSTRAINT chk_schedules_platform
        CHECK (platform IN ('facebook', 'instagram', 'twitter', 'linkedin', 'tiktok', 'youtube', 'pinterest')),
    scheduled_time     timestamptz  NOT NULL,
    timezone           varchar(50)  NOT NULL,
    status             varchar(20)  NOT NULL DEFAULT 'pending'
        CONSTRAINT chk_schedules_status
        CHECK (status IN ('pending', 'processing', 'completed', 'failed', 'cancelled')),
    retry_count        integer      NOT NULL DEFAULT 0
        CONSTRAINT chk_schedules_retry_count CHECK (retry_count >= 0),
    last_attempt       timestamptz,
    created_at         timestamptz  NOT NULL DEFAULT now(),
    updated_at         timestamptz  NOT NULL DEFAULT now(),
    next_attempt_at    timestamptz  NOT NULL,
    locked_by          varchar(100),
    locked_until       timestamptz,
    last_error         text,
    platform_post_id   varchar(200),
    CONSTRAINT chk_schedules_future_time CHECK (scheduled_time > created_at),
    -- A claim is held exactly while processing.
    CONSTRAINT chk_schedules_lease
        CHECK ((status = 'processing') = (locked_by IS NOT NULL AND locked_until IS NOT NULL))
);

CREATE INDEX idx_schedules_status_time ON schedules (status, scheduled_time);
-- The claim: pending schedules by due time.
CREATE INDEX idx_schedules_claimable ON schedules (next_attempt_at, id) WHERE status = 'pending';
-- Lease recovery: processing schedules by lease end.
CREATE INDEX idx_schedules_lease ON schedules (locked_until) WHERE status = 'processing';
CREATE INDEX idx_schedules_team_created ON schedules (team_id, created_at DESC, id DESC);
CREATE INDEX idx_schedules_post ON schedules (post_id);
CREATE INDEX idx_schedules_social_account ON schedules (social_account_id);
CREATE INDEX idx_schedules_user ON schedules (user_id);

CREATE TABLE webhooks (
    id              uuid        PRIMARY KEY,
    user_id         uuid        NOT NULL
        CONSTRAINT fk_webhooks_user REFERENCES users (id) ON DELETE CASCADE,
    platform        varchar(20) NOT NULL
        CONSTRAINT chk_webhooks_platform
        CHECK (platform IN ('facebook', 'instagram', 'twitter', 'linkedin', 'tiktok', 'youtube', 'pinterest')),
    event_type      varchar(50) NOT NULL,
    endpoint_url    text        NOT NULL,
    -- The signing secret, sealed with the KeyRing (AAD "webhooks.secret_key:<id>").
    secret_key_enc  text        NOT NULL,
    is_active       boolean     NOT NULL DEFAULT true,
    last_triggered  timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX idx_webhooks_user_created ON webhooks (user_id, created_at DESC, id DESC);
CREATE INDEX idx_webhooks_event ON webhooks (platform, event_type, created_at, id) WHERE is_active;
