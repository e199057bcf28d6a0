-- Version 4: listing a user's own characters (ListCharacters).

-- "A user's characters, newest first": led by the owner, so a page reads one user's range
-- instead of scanning the table; CharacterId (the key, appended by Spanner) breaks ties on
-- CreateTime in the order the listing pages. It stores no columns: Persona (up to 32 KiB) and
-- Greeting are STRING(MAX), and storing them would write every character twice for a listing
-- that reads at most a page (101 rows) of them, which it reads back from the table by key.
CREATE INDEX CharactersByOwner ON Characters (OwnerUserId, CreateTime DESC);
