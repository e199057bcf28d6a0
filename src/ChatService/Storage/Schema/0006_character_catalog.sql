-- Version 6: the character catalog (ListCharacters by listing, order and query) and how many chats
-- each character was started in.

-- One row per listing, term and character: ListCharacters reads one index range of it, so neither
-- a listing nor a search scans Characters.
--   Listing: '' for the public catalog (public characters), else the owner's user id for the
--     owner's own listing (every visibility); deleted characters have no rows. A caller's id is
--     never empty.
--   Term: '' (every character of the listing), or a prefix of 1..32 characters of the normalized
--     name, of one of its words, of a tag or of one of a tag's words (lowercase, without
--     diacritics; Chats/CharacterSearch.cs). A query is looked up as one term, so a search reads
--     exactly the characters it finds, in the order asked for.
--   Shard: in the public catalog 0..7 from the character id, 0 in an owner's listing. New
--     characters all sort first by CreateTime, so an index led by (Listing, Term) and CreateTime
--     would take every public insert at one point; the shard makes that eight points, and a page
--     is the merge of the first rows of each (CatalogEntries.cs).
--   CreateTime, ChatCount: the character's, the two orders. ChatCount is rewritten when the
--     character's count is folded (see CharacterChatCounts).
-- Written with the character, in the same commit, by CatalogEntries.Write: create, update, delete,
-- visibility change and chat-count fold. Characters that existed before this version get theirs
-- from the background backfill of version 7 (0007_catalog_backfill_queue.sql).
CREATE TABLE CatalogTerms (
  Listing STRING(128) NOT NULL,
  Term STRING(32) NOT NULL,
  CharacterId STRING(36) NOT NULL,
  Shard INT64 NOT NULL,
  CreateTime TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
  ChatCount INT64 NOT NULL,
) PRIMARY KEY (Listing, Term, CharacterId);

-- Newest first: per (listing, term) eight ranges in the public catalog, one in an owner's listing;
-- CharacterId (from the table's key) breaks ties in the order pages are cut.
CREATE INDEX CatalogByNewest ON CatalogTerms (Listing, Term, Shard, CreateTime DESC);

-- Most used first. Not sharded: a new character enters at its count (0) at a random place among
-- the others with that count (CharacterId breaks ties), and counts change at random places.
CREATE INDEX CatalogByMostUsed ON CatalogTerms (Listing, Term, ChatCount DESC);

-- How many chats were started with the character, as last folded from CharacterChatCounts (NULL
-- reads as 0; characters created before this version count from it).
ALTER TABLE Characters ADD COLUMN ChatCount INT64;

-- Chats started with a character, counted in 16 rows per character: a new chat adds one to a
-- random one of them in its own commit, so chats started with a popular character at once rarely
-- wait for each other's lock, and its Characters row is not written by each of them. A chat
-- whose shard reaches a fold point (every one at first, then about every 1/8 more) asks for a
-- fold: after its commit, in a transaction of its own (ChatCountFolder), the rows are summed into
-- Characters.ChatCount and the catalog's ChatCount.
CREATE TABLE CharacterChatCounts (
  CharacterId STRING(36) NOT NULL,
  Shard INT64 NOT NULL,
  ChatCount INT64 NOT NULL,
) PRIMARY KEY (CharacterId, Shard),
  INTERLEAVE IN PARENT Characters ON DELETE CASCADE;
