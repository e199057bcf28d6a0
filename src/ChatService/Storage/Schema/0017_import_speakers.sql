-- Version 17: an import's resolved speakers (issue 18, review of ImportChat).

-- SpeakerIds: the character each of the file's turns was resolved to by the import's first commit, in
-- turn order ('' for a user turn). A resumed import writes its remaining turns with these, whatever
-- happened to the cast or its names since, so every attempt of one request writes one chat.
ALTER TABLE ChatImports ADD COLUMN SpeakerIds ARRAY<STRING(64)>;
