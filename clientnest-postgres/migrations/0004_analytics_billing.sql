-- Phase 4: analytics and billing. Subscription periods and notifications. (The time-series
-- analytics tables live in TimescaleDB, see clientnest-timescale.)

CREATE TABLE billing (
    id               uuid          PRIMARY KEY,
    team_id          uuid          NOT NULL
        CONSTRAINT fk_billing_team REFERENCES teams (id) ON DELETE CASCADE,
    subscription_id  varchar(100)  NOT NULL
        CONSTRAINT uq_billing_subscription_id UNIQUE,
    plan_type        varchar(20)   NOT NULL
        CONSTRAINT chk_billing_plan_type
        CHECK (plan_type IN ('free', 'starter', 'professional', 'business', 'enterprise')),
    amount           numeric(10,2) NOT NULL
        CONSTRAINT chk_billing_amount CHECK (amount >= 0),
    currency         varchar(3)    NOT NULL DEFAULT 'USD',
    status           varchar(20)   NOT NULL
        CONSTRAINT chk_billing_status CHECK (status IN ('active', 'past_due', 'cancelled', 'unpaid')),
    period_start     timestamptz   NOT NULL,
    period_end       timestamptz   NOT NULL,
    created_at       timestamptz   NOT NULL DEFAULT now(),
    updated_at       timestamptz   NOT NULL DEFAULT now(),
    next_billing     timestamptz   NOT NULL,
    CONSTRAINT chk_billing_period CHECK (period_end > period_start)
);

-- At most one active subscription per team.
CREATE UNIQUE INDEX uq_billing_team_active ON billing (team_id) WHERE status = 'active';
CREATE INDEX idx_billing_team_created ON billing (team_id, created_at DESC, id DESC);

CREATE TABLE notifications (
    id          uuid         PRIMARY KEY,
    user_id     uuid         NOT NULL
        CONSTRAINT fk_notifications_user REFERENCES users (id) ON DELETE CASCADE,
    type        varchar(50)  NOT NULL
        CONSTRAINT chk_notifications_type
        CHECK (type IN ('comment', 'mention', 'post_published', 'post_failed', 'billing', 'system')),
    title       varchar(200) NOT NULL,
    message     text         NOT NULL,
    data        jsonb        NOT NULL DEFAULT '{}'::jsonb,
    is_read     boolean      NOT NULL DEFAULT false,
    priority    varchar(20)  NOT NULL DEFAULT 'medium'
        CONSTRAINT chk_notifications_priority CHECK (priority IN ('high', 'medium', 'low')),
    created_at  timestamptz  NOT NULL DEFAULT now(),
    read_at     timestamptz
);

CREATE INDEX idx_notifications_user_read ON notifications (user_id, is_read, created_at DESC);
CREATE INDEX idx_notifications_user_created ON notifications (user_id, created_at DESC, id DESC);
