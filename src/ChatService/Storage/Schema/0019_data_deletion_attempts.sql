-- Version 19: a data deletion that fails is retried with a bounded exponential backoff, and says so.
-- FailedAttempts: runs that failed in a row since its last committed batch (NULL on rows written before this
-- version: none). LastError/LastErrorTime: the latest failure (a short description, no stack), kept after a
-- later success so an operator can see what happened. While a deletion backs off, its Owner is NULL and its
-- LeaseUntil is when the next attempt may start (DataDeletionsByLease: the sweep takes it up then).
ALTER TABLE DataDeletions ADD COLUMN FailedAttempts INT64;
ALTER TABLE DataDeletions ADD COLUMN LastError STRING(1024);
ALTER TABLE DataDeletions ADD COLUMN LastErrorTime TIMESTAMP OPTIONS (allow_commit_timestamp = true)
