-- Version 11: lorebooks (world info). A book belongs to one user; CharacterId, when set, attaches
-- it to that character (every chat with the character uses it; a card import makes one from the
-- card's character_book). Entries: the book's entries as one protobuf message (Storage/lore.proto),
-- read and written whole with the book. Version: 1 when created, one more with every update; what
-- the replicas' copies (and compiled keys) of the book are checked against on the reply path.
CREATE TABLE Lorebooks (
  LorebookId STRING(36) NOT NULL,
  OwnerUserId STRING(128) NOT NULL,
  CharacterId STRING(36),
  Name STRING(256) NOT NULL,
  Description STRING(MAX) NOT NULL,
  ScanDepth INT64 NOT NULL,
  TokenBudget INT64 NOT NULL,
  Entries BYTES(MAX) NOT NULL,
  Version INT64 NOT NULL,
  CreateTime TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
  UpdateTime TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
) PRIMARY KEY (LorebookId);

-- A user's books (ListLorebooks, and the per-user bound).
CREATE INDEX LorebooksByOwner ON Lorebooks (OwnerUserId, Name);

-- A character's book: read with the reply's definitions (one range of an index, no scan).
CREATE NULL_FILTERED INDEX LorebooksByCharacter ON Lorebooks (CharacterId) STORING (Version);

-- The books a chat uses besides its speakers' own, attached by the chat's owner.
CREATE TABLE ChatLorebooks (
  ChatId STRING(36) NOT NULL,
  LorebookId STRING(36) NOT NULL,
  AttachTime TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
) PRIMARY KEY (ChatId, LorebookId),
  INTERLEAVE IN PARENT Chats ON DELETE CASCADE;

-- The chats a book is attached to: what deleting the book detaches.
CREATE INDEX ChatLorebooksByLorebook ON ChatLorebooks (LorebookId);
