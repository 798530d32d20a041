-- Every team-owned row carries its team: comments, responses and post_media get a team_id,
-- backfilled from their parents, NOT NULL, and kept equal to the parent's by composite foreign
-- keys onto a (team_id, id) unique key of the parent. With team_id on every team-owned table,
-- each can be distributed (co-located) by team_id (docs/scale-out.md). The adapter fills team_id
-- from the team a call goes through, never from input.
--
-- The composite foreign keys keep the names (and the ON DELETE CASCADE) of the single-column
-- ones they replace, so a violation still reports fk_post_media_post, fk_comments_account and
-- fk_responses_comment. Indexes that served a parent look-up now lead with team_id.

-- The parents' (team_id, id) keys the composite foreign keys point at (id alone is already
-- unique, so these never refuse a row).
ALTER TABLE posts ADD CONSTRAINT uq_posts_team_id_id UNIQUE (team_id, id);
ALTER TABLE social_accounts ADD CONSTRAINT uq_social_accounts_team_id_id UNIQUE (team_id, id);

-- post_media: the team of its post.
ALTER TABLE post_media ADD COLUMN team_id uuid;
UPDATE post_media m SET team_id = p.team_id FROM posts p WHERE p.id = m.post_id;
ALTER TABLE post_media ALTER COLUMN team_id SET NOT NULL;
ALTER TABLE post_media DROP CONSTRAINT fk_post_media_post;
ALTER TABLE post_media ADD CONSTRAINT fk_post_media_post
    FOREIGN KEY (team_id, post_id) REFERENCES posts (team_id, id) ON DELETE CASCADE;
-- A post's media in order (also serves the foreign key).
DROP INDEX idx_post_media_post_order;
CREATE INDEX idx_post_media_team_post_order ON post_media (team_id, post_id, order_index);

-- comments: the team of their account.
ALTER TABLE comments ADD COLUMN team_id uuid;
UPDATE comments c SET team_id = a.team_id FROM social_accounts a WHERE a.id = c.account_id;
ALTER TABLE comments ALTER COLUMN team_id SET NOT NULL;
ALTER TABLE comments DROP CONSTRAINT fk_comments_account;
ALTER TABLE comments ADD CONSTRAINT fk_comments_account
    FOREIGN KEY (team_id, account_id) REFERENCES social_accounts (team_id, id) ON DELETE CASCADE;
ALTER TABLE comments ADD CONSTRAINT uq_comments_team_id_id UNIQUE (team_id, id);
-- The inbox: a team's comments, newest first (keyset on created_at, id), no join for tenancy.
CREATE INDEX idx_comments_team_created ON comments (team_id, created_at DESC, id DESC);
-- The inbox of one account (also serves the foreign key).
DROP INDEX idx_comments_account_created;
CREATE INDEX idx_comments_team_account_created ON comments (team_id, account_id, created_at DESC, id DESC);

-- responses: the team of their comment (comments are backfilled above).
ALTER TABLE responses ADD COLUMN team_id uuid;
UPDATE responses r SET team_id = c.team_id FROM comments c WHERE c.id = r.comment_id;
ALTER TABLE responses ALTER COLUMN team_id SET NOT NULL;
ALTER TABLE responses DROP CONSTRAINT fk_responses_comment;
ALTER TABLE responses ADD CONSTRAINT fk_responses_comment
    FOREIGN KEY (team_id, comment_id) REFERENCES comments (team_id, id) ON DELETE CASCADE;
-- A comment's responses, newest first (also serves the foreign key).
DROP INDEX idx_responses_comment_created;
CREATE INDEX idx_responses_team_comment_created ON responses (team_id, comment_id, created_at DESC, id DESC);
