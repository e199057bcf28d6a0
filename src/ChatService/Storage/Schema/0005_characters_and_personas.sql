-- Version 5: characters as their authors define them (the Character Card fields), versioned and
-- soft-deleted; user personas; chats pinned to a persona.

-- The Character Card fields. AlternateGreetings and Tags are arrays; CardExtras is the JSON of
-- every card field this schema has no column for (extensions, character_book, assets, unknown
-- fields), kept so an export gives back what was imported. CardSpec: 2 or 3, the spec a card was
-- imported as (NULL for a character made with CreateCharacter). CardImage: the PNG a card came in,
-- for its export. Version: 1 when created, one more with every update (NULL reads as 1).
-- DeleteTime: set when deleted; the row stays so chats with the character stay readable.
ALTER TABLE Characters ADD COLUMN Description STRING(MAX);

ALTER TABLE Characters ADD COLUMN Personality STRING(MAX);

ALTER TABLE Characters ADD COLUMN Scenario STRING(MAX);

ALTER TABLE Characters ADD COLUMN ExampleDialogues STRING(MAX);

ALTER TABLE Characters ADD COLUMN SystemPrompt STRING(MAX);

ALTER TABLE Characters ADD COLUMN PostHistoryInstructions STRING(MAX);

ALTER TABLE Characters ADD COLUMN AlternateGreetings ARRAY<STRING(MAX)>;

ALTER TABLE Characters ADD COLUMN CreatorNotes STRING(MAX);

ALTER TABLE Characters ADD COLUMN Tags ARRAY<STRING(32)>;

ALTER TABLE Characters ADD COLUMN AvatarUrl STRING(2048);

ALTER TABLE Characters ADD COLUMN Creator STRING(256);

ALTER TABLE Characters ADD COLUMN CharacterVersion STRING(256);

ALTER TABLE Characters ADD COLUMN CardSpec INT64;

ALTER TABLE Characters ADD COLUMN CardExtras STRING(MAX);

ALTER TABLE Characters ADD COLUMN CardImage BYTES(MAX);

ALTER TABLE Characters ADD COLUMN Version INT64;

ALTER TABLE Characters ADD COLUMN UpdateTime TIMESTAMP OPTIONS (allow_commit_timestamp = true);

ALTER TABLE Characters ADD COLUMN DeleteTime TIMESTAMP OPTIONS (allow_commit_timestamp = true);

-- A user's personas; at most one has IsDefault. Keyed by user so a user's personas are one range.
CREATE TABLE Personas (
  UserId STRING(128) NOT NULL,
  PersonaId STRING(36) NOT NULL,
  Name STRING(64) NOT NULL,
  Description STRING(MAX) NOT NULL,
  IsDefault BOOL NOT NULL,
  CreateTime TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
  UpdateTime TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
) PRIMARY KEY (UserId, PersonaId);

-- Which persona a user is when talking to a character: one row per (user, character) overridden,
-- so each character has at most one override. Keyed by user, not interleaved in Personas (the
-- persona is not a prefix of the key): deleting a persona deletes its rows from the user's range.
CREATE TABLE PersonaOverrides (
  UserId STRING(128) NOT NULL,
  CharacterId STRING(36) NOT NULL,
  PersonaId STRING(36) NOT NULL,
) PRIMARY KEY (UserId, CharacterId);

-- A persona's characters (ListPersonas, and the overrides a deleted persona takes with it): one
-- range per persona instead of a scan of all of the user's overrides for each of up to 100 personas.
CREATE INDEX PersonaOverridesByPersona ON PersonaOverrides (UserId, PersonaId);

-- The persona a chat was pinned to at creation (NULL: resolved per reply).
ALTER TABLE Chats ADD COLUMN PersonaId STRING(36);
