-- Version 9: group speaker control. A chat's speaker strategy and muted members live on its Chats
-- row, which SendMessage's and ContinueChat's recording transactions read anyway; a character's
-- talkativeness on its Characters row, which those transactions read in the same statement as the
-- chat, and only for NATURAL chats.

-- 1 rotation, 2 list, 3 natural (SpeakerStrategy); NULL reads as 1, the behaviour before the column.
ALTER TABLE Chats ADD COLUMN SpeakerStrategy INT64;

-- Members no strategy picks (still answering when a send names them), in CharacterIds order; NULL: none.
ALTER TABLE Chats ADD COLUMN MutedCharacterIds ARRAY<STRING(36)>;

-- 0..1, the chance a NATURAL chat's member answers a message that does not mention it; NULL reads as 0.5.
ALTER TABLE Characters ADD COLUMN Talkativeness FLOAT64;
