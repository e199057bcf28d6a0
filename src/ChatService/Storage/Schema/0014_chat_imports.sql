-- Version 14: chat imports (ImportChat), written in batches and resumable.

-- One row per import, keyed by the caller and the request id they gave it. The first batch's commit
-- inserts it with the new chat, which belongs to nobody (UserId '') so no listing or read reaches it;
-- each batch's commit moves TurnsWritten on, and the last one gives the chat to its user and sets
-- Done. A retry with the same request id reads the row: it resumes after TurnsWritten, or returns the
-- chat once Done. Digest is the SHA-256 of what was imported (the format, the file and the request's
-- character mapping), so a request id reused for another file is refused instead of mixing two.
-- Kept 7 days, as long as a client could reasonably retry.
CREATE TABLE ChatImports (
  UserId STRING(128) NOT NULL,
  RequestId STRING(64) NOT NULL,
  ChatId STRING(36) NOT NULL,
  Digest BYTES(32) NOT NULL,
  TurnCount INT64 NOT NULL,
  TurnsWritten INT64 NOT NULL,
  Done BOOL NOT NULL,
  CreateTime TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
  UpdateTime TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
) PRIMARY KEY (UserId, RequestId),
  ROW DELETION POLICY (OLDER_THAN(CreateTime, INTERVAL 7 DAY));
