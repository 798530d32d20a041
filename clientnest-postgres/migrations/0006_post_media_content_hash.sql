-- Media content hashes: the SHA-256 of a media file's bytes as 64 lowercase hex characters, set
-- when the object is stored; NULL when unknown (rows written before this migration included).
-- The core validator checks the same rule (validate::sha256_hex) and a violation of this CHECK
-- is reported under the same rule name, chk_post_media_content_hash.
ALTER TABLE post_media ADD COLUMN content_hash text
    CONSTRAINT chk_post_media_content_hash CHECK (content_hash ~ '^[0-9a-f]{64}$');
