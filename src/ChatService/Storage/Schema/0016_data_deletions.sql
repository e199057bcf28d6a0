-- Version 16: DeleteMyData (issue 18). One row per user whose data is being, or was, deleted.

-- UserKey: the hex SHA-256 of the user id, so the record that stays after the deletion holds no user id.
-- UserId: the user id while the deletion runs (the sweep needs it to finish the job of a caller who went
-- away); NULL once it finished. RequestId: the request that started the current run (a repeat returns it).
-- State: 1 running, 2 done. Owner/LeaseUntil: the replica working on it and until when (any replica takes
-- over an expired lease); LeaseUntil is NULL once done. The counts are progress, for the caller and
-- operators. PendingCacheKeys: the Redis keys of the rows the last batch deleted, written in that batch's
-- commit and deleted from Redis right after it: a run that dies in between deletes them when it resumes.
-- Kept 30 days after it finished.
CREATE TABLE DataDeletions (
  UserKey STRING(64) NOT NULL,
  UserId STRING(128),
  RequestId STRING(64) NOT NULL,
  State INT64 NOT NULL,
  Owner STRING(64),
  LeaseUntil TIMESTAMP,
  ChatsDeleted INT64 NOT NULL,
  CharactersDeleted INT64 NOT NULL,
  PersonasDeleted INT64 NOT NULL,
  LorebooksDeleted INT64 NOT NULL,
  PendingCacheKeys ARRAY<STRING(MAX)>,
  CreateTime TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
  UpdateTime TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
  FinishTime TIMESTAMP OPTIONS (allow_commit_timestamp = true),
) PRIMARY KEY (UserKey),
  ROW DELETION POLICY (OLDER_THAN(FinishTime, INTERVAL 30 DAY));

-- The sweep's queue: only running deletions have a LeaseUntil (NULL_FILTERED), a handful at a time.
CREATE NULL_FILTERED INDEX DataDeletionsByLease ON DataDeletions (LeaseUntil) STORING (UserId)
