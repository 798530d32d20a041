-- Phase 2: social media. Connected accounts, posts and their media.

CREATE TABLE social_accounts (
    id                 uuid         PRIMARY KEY,
    user_id            uuid         NOT NULL
        CONSTRAINT fk_social_accounts_user REFERENCES users (id) ON DELETE CASCADE,
    team_id            uuid         NOT NULL
        CONSTRAINT fk_social_accounts_team REFERENCES teams (id) ON DELETE CASCADE,
    platform           varchar(20)  NOT NULL
        CONSTRAINT chk_social_accounts_platform
        CHECK (platform IN ('facebook', 'instagram', 'twitter', 'linkedin', 'tiktok', 'youtube', 'pinterest')),
    platform_id        varchar(100) NOT NULL,
    username           varchar(100) NOT NULL,
    -- OAuth tokens, sealed with the application's KeyRing (AES-256-GCM, AAD
    -- "social_accounts.<column>:<id>"); never plaintext.
    access_token_enc   text         NOT NULL,
    refresh_token_enc  text,
    token_expires      timestamptz,
    permissions        jsonb        NOT NULL DEFAULT '[]'::jsonb,
    is_active          boolean      NOT NULL DEFAULT true,
    created_at         timestamptz  NOT NULL DEFAULT now(),
    updated_at         timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT uq_social_accounts_platform_account_team UNIQUE (platform, platform_id, team_id)
);

CREATE INDEX idx_social_accounts_platform ON social_accounts (platform, is_active);
CREATE INDEX idx_social_accounts_team_created ON social_accounts (team_id, created_at DESC, id DESC);
CREATE INDEX idx_social_accounts_user ON social_accounts (user_id);
-- The token refresher: active accounts by expiry.
CREATE INDEX idx_social_accounts_expiring ON social_accounts (token_expires, id)
    WHERE is_active AND token_expires IS NOT NULL;

CREATE TABLE posts (
    id            uuid         PRIMARY KEY,
    user_id       uuid         NOT NULL
        CONSTRAINT fk_posts_user REFERENCES users (id) ON DELETE CASCADE,
    team_id       uuid         NOT NULL
        CONSTRAINT fk_posts_team REFERENCES teams (id) ON DELETE CASCADE,
    title         varchar(200) NOT NULL DEFAULT '',
    content       text         NOT NULL,
    hashtags      jsonb        NOT NULL DEFAULT '[]'::jsonb,
    status        varchar(20)  NOT NULL DEFAULT 'draft'
        CONSTRAINT chk_posts_status CHECK (status IN ('draft', 'scheduled', 'published', 'failed')),
    scheduled_at  timestamptz,
    published_at  timestamptz,
    ai_generated  boolean      NOT NULL DEFAULT false,
    ai_prompt     text         NOT NULL DEFAULT '',
    engagement    jsonb        NOT NULL DEFAULT '{}'::jsonb,
    created_at    timestamptz  NOT NULL DEFAULT now(),
    updated_at    timestamptz  NOT NULL DEFAULT now(),
    metadata      jsonb        NOT NULL DEFAULT '{}'::jsonb,
    -- Addition to the seed: the platforms the post is written for.
    platforms     text[]       NOT NULL DEFAULT '{}'
        CONSTRAINT chk_posts_platforms
        CHECK (platforms <@ ARRAY['facebook', 'instagram', 'twitter', 'linkedin', 'tiktok', 'youtube', 'pinterest']::text[])
);

CREATE INDEX idx_posts_user_team ON posts (user_id, team_id);
CREATE INDEX idx_posts_status_scheduled ON posts (status, scheduled_at);
-- The seed's hot query: a team's published posts, newest first.
CREATE INDEX idx_posts_team_status_created ON posts (team_id, status, created_at DESC);
-- A team's posts of any status, newest first (keyset on created_at, id).
CREATE INDEX idx_posts_team_created ON posts (team_id, created_at DESC, id DESC);

CREATE TABLE post_media (
    id           uuid        PRIMARY KEY,
    post_id      uuid        NOT NULL
        CONSTRAINT fk_post_media_post REFERENCES posts (id) ON DELETE CASCADE,
    media_type   varchar(20) NOT NULL
        CONSTRAINT chk_post_media_media_type CHECK (media_type IN ('image', 'video', 'gif')),
    file_url     text        NOT NULL,
    file_size    bigint      NOT NULL
        CONSTRAINT chk_post_media_file_size CHECK (file_size >= 0),
    dimensions   jsonb,
    alt_text     text        NOT NULL DEFAULT '',
    order_index  integer     NOT NULL DEFAULT 0
        CONSTRAINT chk_post_media_order_index CHECK (order_index >= 0),
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- A post's media in order (also serves the foreign key).
CREATE INDEX idx_post_media_post_order ON post_media (post_id, order_index);
