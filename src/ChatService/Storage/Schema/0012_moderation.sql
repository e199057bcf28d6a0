-- Version 12: moderation. A reply withheld by moderation is stored in state 6 (filtered) without
-- its text; FilterCategory keeps the category the moderator gave (e.g. "violence"), for audits and
-- for queries such as "how many replies of this route were filtered, and for what". NULL on every
-- other candidate. (ModelCalls needs no column: the withheld call's Outcome is "filtered" and its
-- Error says why.)
ALTER TABLE Candidates ADD COLUMN FilterCategory STRING(128);
