-- Version 19: a data deletion that fails is retried with a bounded exponential backoff, and says so.
-- FailedAttempts: runs that failed in a row since its last committed batch (NULL on rows written before this
-- version: none). LastError/LastErrorTime: the latest failure (a short description, no stack), kept after a
-- later success so an operator can see what happened. While a deletion backs off, its Owner is NULL and its
-- LeaseUntil is when the next attempt may start (DataDeletionsByLease: the sweep takes it up then).
ALTER TABLE DataDeletions ADD COLUMN FailedAttempts INT64;
ALTER TABLE DataDeletions ADD COLUMN LastError STRING(1024);
ALTER TABLE DataDeletions ADD COLUMN LastErrorTime TIMESTAMP OPTIONS (allow_commit_timestamp = true);

-- A chat's forks, for DeleteMyData: a fork that ForkChat left half-copied is owned by nobody (an empty UserId), so
-- no range of the user's reaches it; the chat batch's commit reads the forks of its chats here (a few rows
-- per chat at most, only chats that were forked), in the commit's transaction, so a fork started meanwhile
-- goes with its source. NULL-filtered: chats never forked (nearly all) have no entry.
CREATE NULL_FILTERED INDEX ChatsByForkedFrom ON Chats (ForkedFromChatId) STORING (UserId)
