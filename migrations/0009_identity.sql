-- Identity (worker/identity/): ids of identify tokens already used (replay protection), kept
-- until the token expires. Nothing here names a customer: profiles, links and traits live in the
-- customer's Durable Object, keyed by HMAC.
CREATE TABLE identify_tokens (
  jti TEXT PRIMARY KEY,
  expires_at INTEGER NOT NULL
);
CREATE INDEX identify_tokens_expiry ON identify_tokens (expires_at);
