-- Version 15: a user's chats archived and searched (issue 18, housekeeping).

-- TRUE while the chat is archived; NULL when it is not (never FALSE, so the index below has one key per
-- state). ArchiveTime: when it was last archived (NULL when it is not).
ALTER TABLE Chats ADD COLUMN Archived BOOL;

ALTER TABLE Chats ADD COLUMN ArchiveTime TIMESTAMP OPTIONS (allow_commit_timestamp = true);

-- ListChats by archive state: the active chats are the range (UserId, NULL), the archived ones
-- (UserId, TRUE), each newest activity first, so either filter reads one range of one user and "all"
-- merges the first rows of the two (ChatStore.ListChatsAsync); none of them scans. Stores what a chat
-- list shows, as ChatsByUser does, so a page never joins back to the table.
CREATE INDEX ChatsByUserArchive ON Chats (UserId, Archived, LastActiveTime DESC)
  STORING (Title, CharacterIds, NextSeq, RotationCursor, LastMessagePreview, CreateTime, ArchiveTime);

-- Full-text search (SearchChats). Hidden generated columns: SELECT * never returns them, and no write
-- path sets them (Spanner derives them from the text in the same commit).
ALTER TABLE Chats ADD COLUMN TitleTokens TOKENLIST AS (TOKENIZE_FULLTEXT(Title)) HIDDEN;

ALTER TABLE Turns ADD COLUMN TextTokens TOKENLIST AS (TOKENIZE_FULLTEXT(Text)) HIDDEN;

ALTER TABLE Candidates ADD COLUMN TextTokens TOKENLIST AS (TOKENIZE_FULLTEXT(Text)) HIDDEN;

-- A user's chat titles: one partition per user.
CREATE SEARCH INDEX ChatTitleSearch ON Chats (TitleTokens) PARTITION BY UserId;

-- User messages and replies: one partition per chat (turns and candidates carry no user id, and every
-- writer of them knows the chat). A search probes the partitions of the
-- chats it examines, a page of the user's chats at a time (see docs/capacity.md "Searching chats"). Not
-- interleaved in Chats: the emulator refuses an interleaved search index on Turns ("does not reference index
-- parent key column ChatId"); on Cloud Spanner the partition alone keeps a probe to one chat's postings.
CREATE SEARCH INDEX TurnTextSearch ON Turns (TextTokens) PARTITION BY ChatId;

CREATE SEARCH INDEX CandidateTextSearch ON Candidates (TextTokens) PARTITION BY ChatId
