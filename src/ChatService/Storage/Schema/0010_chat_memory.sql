-- Version 10: what a chat remembers beyond its recent turns: the user's memory note, and the rolling
-- summary of the turns that fell out of the prompt window (written by a background job, see
-- docs/architecture.md "Chat memory and rolling summaries").

-- The memory note (at most Memory:MaxNoteChars characters; NULL or '' when none) and its depth: NULL
-- takes the configured default (Memory:DefaultDepth); -1 puts it ahead of the recent turns; n >= 0 puts
-- it n messages above the newest. Read with the chat's window (WindowLoader), cached with it.
ALTER TABLE Chats ADD COLUMN MemoryNote STRING(MAX);
ALTER TABLE Chats ADD COLUMN MemoryDepth INT64;
ALTER TABLE Chats ADD COLUMN MemoryUpdateTime TIMESTAMP OPTIONS (allow_commit_timestamp = true);

-- Every summary a chat had, one row per version (1, 2, ...). A summary covers the chat's shown turns
-- up to ThroughSeq: it folds the previous version (BaseVersion, 0 for none) and the turns after its
-- ThroughSeq into one text. The latest version without DiscardTime is the chat's summary. Versions are
-- inserted (never upserted) by a transaction that checks the chat's job claim and that BaseVersion is
-- still the latest: two writers can never both commit a version for the same span.
-- A rewind, delete or restore of a turn at or below a summary's ThroughSeq discards that summary and
-- every later one in the same commit (DiscardTime), so no prompt carries a summary of turns the chat
-- no longer shows; the job then summarizes again from the newest surviving version.
CREATE TABLE ChatSummaries (
  ChatId STRING(36) NOT NULL,
  Version INT64 NOT NULL,
  BaseVersion INT64 NOT NULL,
  FromSeq INT64 NOT NULL,
  ThroughSeq INT64 NOT NULL,
  Text STRING(MAX) NOT NULL,
  TurnCount INT64 NOT NULL,
  Replica STRING(64) NOT NULL,
  CreateTime TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
  DiscardTime TIMESTAMP OPTIONS (allow_commit_timestamp = true),
) PRIMARY KEY (ChatId, Version),
  INTERLEAVE IN PARENT Chats ON DELETE CASCADE;

-- The summary job of a chat that is due or under way: at most one per chat. A replica claims it
-- (Owner, LeaseUntil) in a transaction before calling the model, and deletes it in the commit that
-- stores the summary. A failed call releases it (Owner '') until LeaseUntil; a replica that dies
-- leaves it claimed until LeaseUntil. Either way the summary sweep of any replica takes it up once
-- LeaseUntil has passed, while Attempts is below Summary:MaxAttempts (a later trigger for a longer
-- span starts the count again).
CREATE TABLE SummaryJobs (
  ChatId STRING(36) NOT NULL,
  ThroughSeq INT64 NOT NULL,
  Owner STRING(64) NOT NULL,
  LeaseUntil TIMESTAMP NOT NULL,
  Attempts INT64 NOT NULL,
  LastError STRING(MAX),
  CreateTime TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
) PRIMARY KEY (ChatId),
  INTERLEAVE IN PARENT Chats ON DELETE CASCADE;

-- The sweep's scan: jobs whose lease ran out. The table only holds jobs due or under way (a few per
-- replica at a time), so the index stays small.
CREATE INDEX SummaryJobsByLease ON SummaryJobs (LeaseUntil) STORING (ThroughSeq, Attempts);

-- The summary job's model-call log: one row per attempt on a backend, with the fields of ModelCalls
-- (which is keyed by the reply's candidate, and a summary has none). Version is the summary the call
-- produced (NULL for a failed call or a result that was discarded).
CREATE TABLE SummaryCalls (
  ChatId STRING(36) NOT NULL,
  CallId STRING(36) NOT NULL,
  ThroughSeq INT64 NOT NULL,
  Version INT64,
  Replica STRING(64) NOT NULL,
  Attempt INT64 NOT NULL,
  Backend STRING(64) NOT NULL,
  Model STRING(128) NOT NULL,
  Outcome STRING(32) NOT NULL,
  Error STRING(MAX),
  QueuedTime TIMESTAMP,
  StartedTime TIMESTAMP,
  FirstTokenTime TIMESTAMP,
  FinishedTime TIMESTAMP,
  PromptTokens INT64,
  CompletionTokens INT64,
  LogTime TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
) PRIMARY KEY (ChatId, CallId),
  INTERLEAVE IN PARENT Chats ON DELETE CASCADE;
