-- Configured arbitration (several outcomes, context weights, levers): the formula, the outcome
-- models and every factor per candidate, as JSON; NULL when one model ranked by p × value.
ALTER TABLE decisions ADD COLUMN arbitration TEXT;
