-- What each guardrail version was made by (put, patch, rollback) and, for a rollback, which
-- version's configuration it restored: the history shows a rollback as such.
ALTER TABLE guardrail_versions ADD COLUMN action TEXT NOT NULL DEFAULT 'put';
ALTER TABLE guardrail_versions ADD COLUMN restored_from INTEGER;
