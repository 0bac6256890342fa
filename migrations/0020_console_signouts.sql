-- Console sessions signed out before they expire (issue 19; worker/console/session.ts). A session
-- cookie is stateless (HMAC-signed, 2 h); signing out records its nonce here until the cookie
-- would have expired, so a copy of the cookie stops working too. Rows past expires_at are pruned
-- on each sign-out.
CREATE TABLE IF NOT EXISTS console_signouts (
  nonce TEXT PRIMARY KEY,
  expires_at INTEGER NOT NULL -- ms since the epoch
);
