-- Publishing protocol: claims fenced per claim, a persisted publish boundary, attempts counted
-- at claim time, and at most one live schedule per post and account. See
-- docs/backend-rules.md ("Publishing protocol").

-- Two states beyond the seed's five:
--   publishing       the worker marked that it is calling the platform now;
--   outcome_unknown  a publishing claim lapsed: the post may have gone out. Never claimed again
--                    automatically; resolved by a reconciler or a person.
ALTER TABLE schedules DROP CONSTRAINT chk_schedules_status;
ALTER TABLE schedules ADD CONSTRAINT chk_schedules_status
    CHECK (status IN ('pending', 'processing', 'publishing', 'outcome_unknown', 'completed', 'failed', 'cancelled'));

-- A claim is held exactly while processing or publishing.
ALTER TABLE schedules DROP CONSTRAINT chk_schedules_lease;
ALTER TABLE schedules ADD CONSTRAINT chk_schedules_lease
    CHECK ((status IN ('processing', 'publishing')) = (locked_by IS NOT NULL AND locked_until IS NOT NULL));

-- attempt_count: claims so far (an attempt counts when claimed, so lapsing claims run out).
-- attempt_id: the current or last claim's id, its fencing token and the platform idempotency key.
ALTER TABLE schedules
    ADD COLUMN attempt_count integer NOT NULL DEFAULT 0
        CONSTRAINT chk_schedules_attempt_count CHECK (attempt_count >= 0),
    ADD COLUMN attempt_id uuid;
ALTER TABLE schedules ADD CONSTRAINT chk_schedules_claim_token
    CHECK (status NOT IN ('processing', 'publishing') OR attempt_id IS NOT NULL);
-- Rows claimed before this migration: their claims count as one attempt each.
UPDATE schedules SET attempt_count = retry_count + (CASE WHEN status = 'processing' THEN 1 ELSE 0 END);
UPDATE schedules SET attempt_id = gen_random_uuid() WHERE status = 'processing';

-- One live schedule per (post, account). Older duplicates still pending are kept; newer pending
-- twins are cancelled so the index can be built (a double click made them).
UPDATE schedules s SET status = 'cancelled'
WHERE s.status = 'pending' AND EXISTS (
    SELECT 1 FROM schedules o
    WHERE o.post_id = s.post_id AND o.social_account_id = s.social_account_id
      AND o.status IN ('pending', 'processing') AND (o.created_at, o.id) < (s.created_at, s.id)
);
CREATE UNIQUE INDEX uq_schedules_post_account_live ON schedules (post_id, social_account_id)
    WHERE status IN ('pending', 'processing', 'publishing', 'outcome_unknown');

-- Lease recovery covers both claimed states.
DROP INDEX idx_schedules_lease;
CREATE INDEX idx_schedules_lease ON schedules (locked_until) WHERE status IN ('processing', 'publishing');
-- The reconciler's queue: unknown outcomes, longest unresolved first.
CREATE INDEX idx_schedules_outcome_unknown ON schedules (updated_at, id) WHERE status = 'outcome_unknown';
