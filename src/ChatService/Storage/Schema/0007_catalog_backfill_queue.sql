-- Version 7: the catalog's rows are written in the background for the characters that have none,
-- instead of before the service is ready (version 6 did it at start, on every replica, without a
-- checkpoint: hours of unreadiness at the scale target).

-- TRUE while the character's catalog rows (CatalogTerms) are not known to be written; NULL once a
-- commit has written them all. The default marks every character that exists when this version is
-- applied, and every character a replica of an earlier release creates during a rolling update
-- (that release does not know the column, so its inserts get the default); this release clears the
-- mark in each commit that writes a character's rows (CatalogEntries.Mutations). The background
-- job (CatalogBackfillJob) catalogs the marked characters: the index below is its queue and its
-- checkpoint, so it resumes where it stopped and never scans Characters.
ALTER TABLE Characters ADD COLUMN CatalogPending BOOL DEFAULT (TRUE);

-- Only the marked characters (NULL_FILTERED): small once the backfill has caught up, and empty in
-- steady state; CharacterId follows from the table's key.
CREATE NULL_FILTERED INDEX CharactersByCatalogPending ON Characters (CatalogPending);

-- One row per background job that a single replica at a time should run: the replica holding the
-- lease (until ExpireTime) does the work; another takes over once it lapses. Progress is what the
-- holder reports, for operators.
CREATE TABLE JobLeases (
  Job STRING(64) NOT NULL,
  Owner STRING(MAX) NOT NULL,
  ExpireTime TIMESTAMP NOT NULL,
  Done INT64 NOT NULL,
  UpdateTime TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
) PRIMARY KEY (Job);
