-- Version 8: what was sent is visible (issue 17).

-- Each model call's prompt by section, in tokens of the route's tokenizer: a JSON object such as
-- {"tokenizer":"o200k_base","total":1234,"system":800,"persona":20,"pins":0,"memory":0,"summary":0,
--  "lore":0,"history":400,"post_history":14}. Written by the settle commit with the call's row; null
-- for calls logged before version 8. The prompt's text is not here: CandidatePrompts has it, once.
ALTER TABLE ModelCalls ADD COLUMN PromptSections STRING(MAX);

-- The exact prompt of a candidate, once per candidate (every attempt of a candidate is sent the
-- prompt its generation assembled; the one that settles it is kept), written by the settle commit
-- (no commit of its own). Messages is gzip of a JSON array [{"role":"system","content":"..."},...],
-- null when the compressed prompt was over Dispatch:StoredPromptMaxBytes (its counts are still
-- kept). Read by GetReplyPrompt (the chat's owner or an admin). Deleted with its candidate, turn or
-- chat, and 30 days after it was stored.
CREATE TABLE CandidatePrompts (
  ChatId STRING(36) NOT NULL,
  Seq INT64 NOT NULL,
  CandidateId STRING(36) NOT NULL,
  Tokenizer STRING(32) NOT NULL,
  BudgetTokens INT64 NOT NULL,
  TotalTokens INT64 NOT NULL,
  Sections STRING(MAX) NOT NULL,
  Messages BYTES(MAX),
  StoreTime TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
) PRIMARY KEY (ChatId, Seq, CandidateId),
  INTERLEAVE IN PARENT Candidates ON DELETE CASCADE,
  ROW DELETION POLICY (OLDER_THAN(StoreTime, INTERVAL 30 DAY));
