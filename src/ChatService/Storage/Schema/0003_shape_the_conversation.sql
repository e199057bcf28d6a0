-- Version 3: shaping a conversation (edit, rewind, delete, restore, fork, rate, pin).

-- A turn that left the history (rewound, or deleted on its own) keeps its row, hidden, so it can
-- be restored; HiddenReason: 1 rewound, 2 deleted. Hidden turns never reach a page or a prompt, and
-- Spanner drops them (with their candidates, revisions and model-call log rows) 30 days after they
-- were hidden.
ALTER TABLE Turns ADD COLUMN HiddenTime TIMESTAMP OPTIONS (allow_commit_timestamp = true);

ALTER TABLE Turns ADD COLUMN HiddenReason INT64;

ALTER TABLE Turns ADD ROW DELETION POLICY (OLDER_THAN(HiddenTime, INTERVAL 30 DAY));

-- Whether a user turn's text, or a candidate's, was edited (its earlier texts are revisions).
ALTER TABLE Turns ADD COLUMN Edited BOOL;

ALTER TABLE Candidates ADD COLUMN Edited BOOL;

-- Earlier texts of an edited turn, numbered from 1 per turn: the text a user turn or a
-- candidate had before each edit. CandidateId is null for user turns. The model-call log keeps
-- what a model wrote; these keep what a user changed.
CREATE TABLE TurnRevisions (
  ChatId STRING(36) NOT NULL,
  Seq INT64 NOT NULL,
  Revision INT64 NOT NULL,
  CandidateId STRING(36),
  Text STRING(MAX) NOT NULL,
  EditTime TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
) PRIMARY KEY (ChatId, Seq, Revision),
  INTERLEAVE IN PARENT Turns ON DELETE CASCADE;

-- A user's rating of one candidate: the latest wins. Tags are short labels the client offers.
CREATE TABLE Ratings (
  ChatId STRING(36) NOT NULL,
  Seq INT64 NOT NULL,
  CandidateId STRING(36) NOT NULL,
  UserId STRING(128) NOT NULL,
  Stars INT64 NOT NULL,
  Tags ARRAY<STRING(64)> NOT NULL,
  Comment STRING(MAX),
  UpdateTime TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
) PRIMARY KEY (ChatId, Seq, CandidateId, UserId),
  INTERLEAVE IN PARENT Candidates ON DELETE CASCADE;

-- Turns pinned to always enter the prompt, oldest first; where a forked chat came from.
ALTER TABLE Chats ADD COLUMN PinnedSeqs ARRAY<INT64>;

ALTER TABLE Chats ADD COLUMN ForkedFromChatId STRING(36);

ALTER TABLE Chats ADD COLUMN ForkedFromSeq INT64;

-- Idempotency of the chat-shaping operations that a retry could repeat with a different effect
-- (rewind, edit, fork): the request id is recorded with what it did, once per chat.
-- Kept 7 days, as long as a client could reasonably retry.
CREATE TABLE ChatOperations (
  ChatId STRING(36) NOT NULL,
  RequestId STRING(64) NOT NULL,
  Kind STRING(32) NOT NULL,
  Result BYTES(MAX),
  CreateTime TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
) PRIMARY KEY (ChatId, RequestId),
  INTERLEAVE IN PARENT Chats ON DELETE CASCADE,
  ROW DELETION POLICY (OLDER_THAN(CreateTime, INTERVAL 7 DAY));
