-- Version 1: characters, chats, turns, candidates, the model-call log, and the indexes the
-- service reads by. Statements are separated by semicolons; comments start with "--".
-- Keys never lead with a monotonic value: ids are UUIDv4 strings.

CREATE TABLE Characters (
  CharacterId STRING(36) NOT NULL,
  OwnerUserId STRING(128) NOT NULL,
  DisplayName STRING(100) NOT NULL,
  Persona STRING(MAX) NOT NULL,
  Greeting STRING(MAX),
  ModelRoute STRING(64) NOT NULL,
  Visibility INT64 NOT NULL,
  CreateTime TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
) PRIMARY KEY (CharacterId);

-- NextSeq is the last allocated turn sequence number: the recording transaction reads it and
-- allocates the next ones, so sequence numbers are per chat and gap-free.
-- RotationCursor is the group-chat reply policy's position in CharacterIds.
CREATE TABLE Chats (
  ChatId STRING(36) NOT NULL,
  UserId STRING(128) NOT NULL,
  Title STRING(200) NOT NULL,
  CharacterIds ARRAY<STRING(36)> NOT NULL,
  NextSeq INT64 NOT NULL,
  RotationCursor INT64 NOT NULL,
  LastMessagePreview STRING(200) NOT NULL,
  CreateTime TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
  LastActiveTime TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
) PRIMARY KEY (ChatId);

-- "A user's recent chats": led by the user, newest activity first, storing what a chat list
-- shows so ListChats never joins back to the base table.
CREATE INDEX ChatsByUser ON Chats (UserId, LastActiveTime DESC)
  STORING (Title, CharacterIds, NextSeq, RotationCursor, LastMessagePreview, CreateTime);

-- AuthorRole: 1 user, 2 character. User turns keep their text here; a character turn's text
-- lives in its candidates, PrimaryCandidateId names the one shown.
CREATE TABLE Turns (
  ChatId STRING(36) NOT NULL,
  Seq INT64 NOT NULL,
  AuthorRole INT64 NOT NULL,
  CharacterId STRING(36),
  Text STRING(MAX),
  RequestId STRING(64),
  ReplyToSeq INT64,
  PrimaryCandidateId STRING(36),
  CandidateCount INT64 NOT NULL,
  CreateTime TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
  UpdateTime TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
) PRIMARY KEY (ChatId, Seq),
  INTERLEAVE IN PARENT Chats ON DELETE CASCADE;

-- Idempotency of sends: a request id is recorded once per chat. Null-filtered, so turns
-- without a request id (greetings, replies) cost the index nothing.
CREATE UNIQUE NULL_FILTERED INDEX TurnsByRequestId ON Turns (ChatId, RequestId),
  INTERLEAVE IN Chats;

-- One candidate reply ("swipe") of a character turn. State: 1 pending, 2 streaming,
-- 3 complete, 4 failed, 5 cancelled.
-- The owed-reply marker (the outbox) is OwedShard: set while a reply is owed, NULL once it is
-- settled. The shard spreads the recovery scan over many index ranges so it is never a
-- hotspot. LeaseOwner/LeaseUntil say which replica works the reply and until when.
CREATE TABLE Candidates (
  ChatId STRING(36) NOT NULL,
  Seq INT64 NOT NULL,
  CandidateId STRING(36) NOT NULL,
  State INT64 NOT NULL,
  Text STRING(MAX),
  FailureCode STRING(64),
  FailureReason STRING(MAX),
  RequestId STRING(64),
  OwedShard INT64,
  LeaseOwner STRING(64),
  LeaseUntil TIMESTAMP,
  CreateTime TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
  UpdateTime TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
) PRIMARY KEY (ChatId, Seq, CandidateId),
  INTERLEAVE IN PARENT Turns ON DELETE CASCADE;

-- Sparse: only owed replies have an OwedShard, so the sweeper's scan touches only them.
CREATE NULL_FILTERED INDEX OwedReplies ON Candidates (OwedShard, LeaseUntil)
  STORING (LeaseOwner);

-- Idempotency of regenerations.
CREATE UNIQUE NULL_FILTERED INDEX CandidatesByRequestId ON Candidates (ChatId, RequestId),
  INTERLEAVE IN Chats;

-- The model-call log: one row per attempt to generate a candidate.
CREATE TABLE ModelCalls (
  ChatId STRING(36) NOT NULL,
  Seq INT64 NOT NULL,
  CandidateId STRING(36) NOT NULL,
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
) PRIMARY KEY (ChatId, Seq, CandidateId, Attempt),
  INTERLEAVE IN PARENT Candidates ON DELETE CASCADE;
